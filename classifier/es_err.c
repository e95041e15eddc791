/*
 * es_err.c - descriptions of the project's error codes.
 */
#include "es_err.h"

const char *
es_strerror(int err)
{
	switch (err) {
	case ES_OK:
		return "success";
	case ES_ENOMEM:
		return "out of memory";
	case ES_ELIMIT:
		return "limit exceeded";
	case ES_EPARSE:
		return "unusable input";
	case ES_EINVAL:
		return "invalid argument";
	case ES_ETRANSIENT:
		return "store temporarily unavailable";
	case ES_ESTORE:
		return "store error";
	case ES_ENOTFOUND:
		return "not found";
	case ES_EPERM:
		return "not permitted";
	case ES_EINTERNAL:
		return "internal error";
	case ES_EIO:
		return "input/output error";
	case ES_EBUSY:
		return "already running elsewhere";
	}
	return "unknown error";
}
