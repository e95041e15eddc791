/*
 * runtime.c - the settings a transaction runs with, built from one
 * load of the configuration and replaced as a whole on SIGHUP.
 *
 * Values the table cannot check (networks, the split reply, alias
 * patterns) are checked here, so that a reload with a bad value keeps
 * the running settings instead of half-applying the new ones.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
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
 * parse_split_reply - "452 4.5.3 Too many recipients": a 4xx code (the
 * recipient is deferred, so the reply must be temporary), an enhanced
 * status code 4.x.y, and text.
 */
static int
parse_split_reply(const char *s, struct mlt_runtime *rt)
{
	const char *p = s, *x;
	size_t xl;

	if (!(p[0] == '4' && isdigit((unsigned char)p[1]) &&
		isdigit((unsigned char)p[2]) && p[3] == ' '))
		return ES_EINVAL;
	memcpy(rt->split_rcode, p, 3);
	rt->split_rcode[3] = '\0';
	p += 4;
	x = p;
	while (*p != '\0' && *p != ' ')
		p++;
	xl = (size_t)(p - x);
	if (xl < 5 || xl >= sizeof(rt->split_xcode) || x[0] != '4' ||
	    x[1] != '.')
		return ES_EINVAL;
	memcpy(rt->split_xcode, x, xl);
	rt->split_xcode[xl] = '\0';
	while (*p == ' ')
		p++;
	if (*p == '\0' || strlen(p) >= sizeof(rt->split_text) ||
	    strchr(p, '%') != NULL)
		return ES_EINVAL;
	memcpy(rt->split_text, p, strlen(p) + 1);
	return 0;
}

/* build - the derived fields of rt from rt->cf; errors to fp. */
static int
build(struct mlt_runtime *rt, FILE *fp)
{
	const char *const *l;
	const char *s;
	size_t i, n;
	int bad = 0;

	if (conf_engine_cfg(rt->cf, &rt->ecfg) != 0) {
		fprintf(fp, "%s: the engine settings are unusable\n",
		    rt->conf_path);
		bad = 1;
	}
	rt->on_error = strcmp(conf_str(rt->cf, "on_error"), "tempfail") == 0
	    ? MLT_TEMPFAIL
	    : MLT_ACCEPT;
	rt->grouping = strcmp(conf_str(rt->cf, "recipient_grouping"),
	                   "first") == 0
	    ? MLT_FIRST
	    : MLT_SPLIT;
	if (pol_domain_parse(conf_str(rt->cf, "default_policy"),
		&rt->default_policy) != 0) {
		fprintf(fp, "%s: default_policy: unknown policy\n",
		    rt->conf_path);
		bad = 1;
	}
	s = conf_str(rt->cf, "split_reply");
	if (parse_split_reply(s, rt) != 0) {
		fprintf(fp,
		    "%s: split_reply: \"%s\" is not \"4xx 4.x.y text\" "
		    "(a temporary reply, no '%%')\n",
		    rt->conf_path, s);
		bad = 1;
	}
	l = conf_list(rt->cf, "retrain_aliases");
	for (n = 0; l[n] != NULL; n++)
		if (strchr(l[n], '@') == NULL) {
			fprintf(fp,
			    "%s: retrain_aliases: \"%s\" has no '@' (a pattern "
			    "is local@domain, e.g. *-spam@*)\n",
			    rt->conf_path, l[n]);
			bad = 1;
		}
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
		if (pol_net_parse(l[i], &rt->nets[i]) != 0) {
			fprintf(fp,
			    "%s: trusted_networks: \"%s\" is not an address "
			    "or address/prefix\n",
			    rt->conf_path, l[i]);
			bad = 1;
		}
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
	rt->grey_streak = (unsigned)conf_int(rt->cf, "greylist_spam_streak");
	rt->grey_window_s = (unsigned)conf_int(rt->cf, "greylist_window_s");
	return bad ? ES_EINVAL : 0;
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
