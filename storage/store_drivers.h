/*
 * store_drivers.h - the drivers' operation tables (classifier/store_int.h
 * says what they hold). Only storage/store_open.c picks among them.
 */
#ifndef STORE_DRIVERS_H
#define STORE_DRIVERS_H

#include "store_int.h"

extern const struct store_ops store_sqlite_ops; /* store_sqlite.c */
extern const struct store_ops store_mem_ops;    /* store_mem.c */
extern const struct store_ops store_mysql_ops;  /* store_mysql.c */

#endif
