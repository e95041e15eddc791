/*
 * mysql_sigs.c - the "mysql" driver's signatures
 * (dspam_signature_data): write, read, delete, one statement each. Old
 * signatures go in mysql_purge.c.
 */
#include "mysql_int.h"

#include <mysql.h>

#include "es_err.h"

/* ---- signatures ---- */

int
my_sig_put(struct store *st, uint32_t uid, const char *id, const void *data,
    size_t len, int32_t day)
{
	MYSQL_BIND in[5];
	uint32_t n = (uint32_t)len; /* store.c: len <= UINT32_MAX */
	char date[11];

	store_day_iso(day, date);
	b_u32(&in[0], &uid);
	b_str(&in[1], id);
	b_bytes(&in[2], MYSQL_TYPE_BLOB, data, len);
	b_u32(&in[3], &n);
	b_str(&in[4], date);
	return my_simple(st, M_SIG_PUT, in, "signature write");
}

int
my_sig_get(struct store *st, uint32_t uid, const char *id, void **data,
    size_t *len)
{
	MYSQL_BIND in[2];
	char *v = NULL;
	int rc;

	b_u32(&in[0], &uid);
	b_str(&in[1], id);
	rc = my_one(st, M_SIG_GET, in, id, &v, len);
	if (rc == ES_ENOTFOUND)
		store_seterr(st, "no signature \"%.32s\"", id);
	if (rc == 0)
		*data = v;
	return rc;
}

int
my_sig_delete(struct store *st, uint32_t uid, const char *id)
{
	MYSQL_BIND in[2];

	b_u32(&in[0], &uid);
	b_str(&in[1], id);
	return my_simple(st, M_SIG_DEL, in, "signature delete");
}
