/*
 * runtime.c - the settings a transaction runs with, built from one
 * load of the configuration and replaced as a whole on SIGHUP.
 *
 * Every value is checked by conf_load() (the key table and
 * conf_validate(), the same checks edgespam --check-config runs), so a
 * reload with a bad value keeps the running settings instead of
 * half-applying the new ones; this file only builds the derived fields
 * (parsed networks, the split reply's parts, enums).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cls_policy.h"
#include "conf.h"
#include "conf_check.h"
#include "es_alloc.h"
#include "es_err.h"
#include "milter.h"

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mlt_runtime *rt_current;

static void
runtime_free(struct mlt_runtime *rt)
{
	if (rt == NULL)
		return;
	conf_free(rt->cf);
	es_free(rt->nets);
	es_free(rt->conf_path);
	es_free(rt);
}

/*
 * build - the derived fields of rt from rt->cf. conf_load() has checked
 * every value (conf_validate()), so the parsers below cannot fail on
 * it; if one did, the runtime is refused rather than half built.
 */
static int
build(struct mlt_runtime *rt, FILE *fp)
{
	struct conf_split_reply sr;
	const char *const *l;
	size_t i, n;

	if (conf_engine_cfg(rt->cf, &rt->ecfg) != 0 ||
	    cls_policy_parse(conf_str(rt->cf, "default_policy"),
		&rt->default_policy) != 0 ||
	    conf_split_reply_parse(conf_str(rt->cf, "split_reply"), &sr) != 0)
		goto unchecked;
	rt->on_error = strcmp(conf_str(rt->cf, "on_error"), "tempfail") == 0
	    ? MLT_TEMPFAIL
	    : MLT_ACCEPT;
	rt->grouping = strcmp(conf_str(rt->cf, "recipient_grouping"),
	                   "first") == 0
	    ? MLT_FIRST
	    : MLT_SPLIT;
	strlcpy(rt->split_rcode, sr.rcode, sizeof(rt->split_rcode));
	strlcpy(rt->split_xcode, sr.xcode, sizeof(rt->split_xcode));
	strlcpy(rt->split_text, sr.text, sizeof(rt->split_text));
	l = conf_list(rt->cf, "retrain_aliases");
	for (n = 0; l[n] != NULL; n++)
		;
	rt->rules.aliases = l;
	rt->rules.naliases = n;
	l = conf_list(rt->cf, "trusted_networks");
	for (n = 0; l[n] != NULL; n++)
		;
	if (n > 0 && (rt->nets = es_calloc(n, sizeof(*rt->nets))) == NULL) {
		fprintf(fp, "%s: out of memory\n", rt->conf_path);
		return ES_ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (conf_net_parse(l[i], &rt->nets[i]) != 0)
			goto unchecked;
	rt->nnets = n;
	rt->rules.delimiter = conf_recipient_delimiter(rt->cf);
	rt->bad_rcpt_tempfail =
	    strcmp(conf_str(rt->cf, "bad_recipient_action"), "tempfail") == 0;
	rt->sig_location = conf_signature_location_name(rt->cf);
	rt->timeout_ms = (unsigned)conf_int(rt->cf, "message_timeout_ms");
	rt->store_down_log_s =
	    (unsigned)conf_int(rt->cf, "store_down_log_interval_s");
	rt->max_scan = (size_t)conf_int(rt->cf, "max_scan_bytes");
	rt->track_sources = conf_bool(rt->cf, "source_tracking");
	rt->history = conf_bool(rt->cf, "history");
	rt->grey_streak = (unsigned)conf_int(rt->cf, "greylist_spam_streak");
	rt->grey_window_s = (unsigned)conf_int(rt->cf, "greylist_window_s");
	return 0;
unchecked:
	/* a value conf_validate() let through: a programming error */
	fprintf(fp, "%s: a value passed the configuration check but cannot "
	    "be used (internal error)\n", rt->conf_path);
	return ES_EINTERNAL;
}

struct mlt_runtime *
mlt_runtime_load(const char *path, FILE *fp)
{
	struct conf_diag diag = {0};
	struct mlt_runtime *rt;
	size_t i;
	int rc;

	if ((rt = es_calloc(1, sizeof(*rt))) == NULL ||
	    (rt->conf_path = es_strdup(path)) == NULL) {
		fprintf(fp, "%s: out of memory\n", path);
		runtime_free(rt);
		return NULL;
	}
	rt->refs = 1;
	rc = conf_load(path, &rt->cf, &diag);
	/* as root the milter switches to the configured user: it must
	 * exist (edgespam --check-config as root asks the same) */
	if (rc == 0 && geteuid() == 0)
		rc = conf_check_accounts(rt->cf, path, &diag);
	/* the milter needs the database password now and at each reload */
	if (rc == 0)
		rc = conf_check_password(rt->cf, &diag);
	for (i = 0; i < diag.n; i++)
		fprintf(fp, "%s\n", diag.msgs[i]);
	if (rc != 0 && diag.n == 0)
		fprintf(fp, "%s: %s\n", path, es_strerror(rc));
	conf_diag_free(&diag);
	if (rc != 0 || build(rt, fp) != 0) {
		runtime_free(rt);
		return NULL;
	}
	return rt;
}

struct mlt_runtime *
mlt_runtime_get(void)
{
	struct mlt_runtime *rt;

	pthread_mutex_lock(&rt_lock);
	rt = rt_current;
	if (rt != NULL)
		rt->refs++;
	pthread_mutex_unlock(&rt_lock);
	return rt;
}

void
mlt_runtime_put(struct mlt_runtime *rt)
{
	bool last;

	if (rt == NULL)
		return;
	pthread_mutex_lock(&rt_lock);
	last = --rt->refs == 0;
	pthread_mutex_unlock(&rt_lock);
	if (last)
		runtime_free(rt);
}

void
mlt_runtime_install(struct mlt_runtime *rt)
{
	struct mlt_runtime *old;

	pthread_mutex_lock(&rt_lock);
	old = rt_current;
	rt_current = rt;
	pthread_mutex_unlock(&rt_lock);
	mlt_runtime_put(old);
}
