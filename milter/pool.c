/*
 * pool.c - store handles shared by the milter's connection threads.
 *
 * libmilter runs one thread per SMTP connection, but a store handle is
 * used by one thread at a time and the store serialises writers anyway,
 * so a small pool of handles (store_pool_size) serves any number of
 * connections. A thread holds a slot only for the store work of one
 * callback, never across callbacks. Handles are opened on first use; a
 * handle that failed permanently is closed and reopened by its next
 * user, so the milter recovers by itself when the store comes back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "es_alloc.h"
#include "es_err.h"
#include "milter.h"

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv;
static struct mlt_slot *slots;
static size_t nslots;
static struct store_params params;
static char *param_driver, *param_path;

int
mlt_pool_init(const struct store_params *p, size_t n, char *err,
    size_t errlen)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&pool_cv, &ca) != 0) {
		snprintf(err, errlen, "cannot set up the store pool");
		return ES_EINTERNAL;
	}
	pthread_condattr_destroy(&ca);
	params = *p;
	if ((param_driver = es_strdup(p->driver ? p->driver : "")) == NULL ||
	    (param_path = es_strdup(p->path ? p->path : "")) == NULL ||
	    (slots = es_calloc(n, sizeof(*slots))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ES_ENOMEM;
	}
	params.driver = param_driver;
	params.path = param_path;
	nslots = n;
	return 0;
}

/* open_slot - give s a store and a work area (called without the lock). */
static int
open_slot(struct mlt_slot *s, char *err, size_t errlen)
{
	int rc;

	if (s->eng == NULL && (s->eng = cls_engine_new()) == NULL) {
		snprintf(err, errlen, "out of memory for an engine work area");
		return ES_ENOMEM;
	}
	if (s->st != NULL)
		return 0;
	if ((rc = store_open(&params, &s->st, err, errlen)) != 0) {
		s->st = NULL;
		/* Whatever the reason, the store is not usable now: the
		 * caller treats it as a store that is down. */
		return rc == ES_ENOMEM ? rc : ES_ETRANSIENT;
	}
	return 0;
}

int
mlt_pool_get(const struct timespec *deadline, struct mlt_slot **out,
    char *err, size_t errlen)
{
	struct mlt_slot *s = NULL;
	size_t i;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&pool_lock);
	for (;;) {
		/* prefer a slot with an open handle */
		for (i = 0; i < nslots; i++)
			if (!slots[i].busy && slots[i].st != NULL) {
				s = &slots[i];
				break;
			}
		for (i = 0; s == NULL && i < nslots; i++)
			if (!slots[i].busy)
				s = &slots[i];
		if (s != NULL)
			break;
		rc = pthread_cond_timedwait(&pool_cv, &pool_lock, deadline);
		if (rc == ETIMEDOUT) {
			pthread_mutex_unlock(&pool_lock);
			snprintf(err, errlen,
			    "no store handle came free within the time budget");
			return ES_ETRANSIENT;
		}
	}
	s->busy = true;
	pthread_mutex_unlock(&pool_lock);
	if ((rc = open_slot(s, err, errlen)) != 0) {
		mlt_pool_put(s, false);
		return rc;
	}
	*out = s;
	return 0;
}

void
mlt_pool_put(struct mlt_slot *s, bool broken)
{
	if (s == NULL)
		return;
	if (broken && s->st != NULL) {
		store_close(s->st);
		s->st = NULL;
	}
	pthread_mutex_lock(&pool_lock);
	s->busy = false;
	pthread_cond_signal(&pool_cv);
	pthread_mutex_unlock(&pool_lock);
}

void
mlt_pool_destroy(void)
{
	size_t i;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < nslots; i++) {
		if (slots[i].st != NULL)
			store_close(slots[i].st);
		cls_engine_free(slots[i].eng);
	}
	es_free(slots);
	slots = NULL;
	nslots = 0;
	pthread_mutex_unlock(&pool_lock);
	es_free(param_driver);
	es_free(param_path);
	param_driver = param_path = NULL;
}
