/*
 * sqlite_walbuf.h - the SQLite VFS of the sqlite driver: the default VFS
 * with a transaction's WAL writes gathered into few system calls (see
 * sqlite_walbuf.c).
 */
#ifndef SQLITE_WALBUF_H
#define SQLITE_WALBUF_H

#define SQ_WALBUF_VFS "edgespam-walbuf"

/*
 * sq_walbuf_vfs - register the VFS once (thread-safe) and return its
 * name for sqlite3_open_v2(), or NULL when it could not be registered
 * (then open with the default VFS).
 */
const char *sq_walbuf_vfs(void);

#endif
