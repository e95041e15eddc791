/*
 * store_open.c - which driver a store_params names: "sqlite"
 * (store_sqlite.c), "memory" (store_mem.c) or "mysql" (store_mysql.c).
 * store_open() and store_schema() find it here and hand its operations
 * to the interface's front end (classifier/store.c). An unknown name is
 * ES_EINVAL, and the message lists the known ones; a mysql store whose
 * password could not be read does not open (the reason is the message).
 */
#include "store.h"

#include <stdio.h>
#include <string.h>

#include "es_err.h"
#include "store_drivers.h"
#include "store_int.h"

static const struct store_ops *const drivers[] = {
	&store_sqlite_ops,
	&store_mem_ops,
	&store_mysql_ops,
};
#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))

/* find_driver - the driver p names; ES_EINVAL (why in err) if none. */
static int
find_driver(const struct store_params *p, const struct store_ops **out,
    char *err, size_t errlen)
{
	char known[128] = "";

	*out = NULL;
	if (p == NULL || p->driver == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "store: no driver given");
		return ES_EINVAL;
	}
	for (size_t i = 0; i < NDRIVERS; i++) {
		if (strcmp(p->driver, drivers[i]->name) == 0)
			*out = drivers[i];
		if (i > 0)
			strlcat(known, ", ", sizeof(known));
		strlcat(known, drivers[i]->name, sizeof(known));
	}
	if (*out == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen,
			    "store: unknown driver \"%.64s\" (known: %s)",
			    p->driver, known);
		return ES_EINVAL;
	}
	return 0;
}

int
store_open(const struct store_params *p, struct store **out, char *err,
    size_t errlen)
{
	const struct store_ops *ops;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "store: no handle given");
		return ES_EINVAL;
	}
	if ((rc = find_driver(p, &ops, err, errlen)) != 0)
		return rc;
	if (ops == &store_mysql_ops && p->mysql_password_error != NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s", p->mysql_password_error);
		return ES_EINVAL;
	}
	return store_open_ops(ops, p, out, err, errlen);
}

int
store_schema(const struct store_params *p, enum store_schema_op op,
    store_schema_fn *fn, void *arg, size_t *missing, char *err,
    size_t errlen)
{
	const struct store_ops *ops;
	int rc;

	if (missing != NULL)
		*missing = 0;
	if ((rc = find_driver(p, &ops, err, errlen)) != 0)
		return rc;
	return store_schema_ops(ops, p, op, fn, arg, missing, err, errlen);
}
