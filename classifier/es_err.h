/*
 * es_err.h - the project's error codes.
 *
 * Library functions return 0 on success or one of these negative codes.
 * Detail, where there is any, goes into a caller-given buffer. The codes
 * are classes, chosen so that a caller can map them to an action:
 * the milter to its on_error policy, the CLI to a sysexits code.
 */
#ifndef ES_ERR_H
#define ES_ERR_H

enum es_err {
	ES_OK = 0,
	ES_ENOMEM = -1,     /* an allocation failed */
	ES_ELIMIT = -2,     /* a configured bound was reached */
	ES_EPARSE = -3,     /* unusable input (a message, a file, a value) */
	ES_EINVAL = -4,     /* bad argument or configuration value */
	ES_ETRANSIENT = -5, /* store busy, locked, unreachable: retry later */
	ES_ESTORE = -6,     /* store failed permanently (schema, I/O, corrupt) */
	ES_ENOTFOUND = -7,  /* the looked-up object does not exist */
	ES_EPERM = -8,      /* not allowed (ownership, trust) */
	ES_EINTERNAL = -9,  /* an impossible state was reached */
	ES_EIO = -10,       /* a file could not be read or written */
	ES_EBUSY = -11      /* an exclusive job (purge) already runs */
};

/*
 * es_strerror - a short fixed description of an error code.
 * Never returns NULL; unknown codes get a generic text.
 */
const char *es_strerror(int err);

#endif
