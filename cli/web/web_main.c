/*
 * web_main.c - edgespam-web: command line and life cycle.
 *
 *   edgespam-web [-c FILE] [-f] [-n]
 *
 * A small HTTP service for users and admins behind the site's web
 * server (see edgespam-web(8)). Start: load the configuration (every
 * error as file:line, exit 78); open the listening socket named by
 * web_listen: a TCP address on loopback only ("127.0.0.1:8301",
 * "[::1]:8301"), or a Unix socket ("unix:/run/edgespam-web/web.sock",
 * mode web_socket_mode; a stale socket is replaced, anything else in its
 * place is refused); as root, drop to the configured user (groups
 * first, and check that root cannot be regained), as the milter does;
 * then open the store as that user and serve with libmicrohttpd until
 * SIGTERM or SIGINT. It never detaches (systemd's Type=simple); it logs
 * to syslog (facility log_facility), or with -f to standard error.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cls_engine.h"
#include "conf.h"
#include "es_err.h"
#include "es_log.h"
#include "es_start.h"
#include "store.h"
#include "web.h"
#include "web_listen.h"

#define DEFAULT_CONF "/etc/edgespam/edgespam.conf"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: edgespam-web [-c FILE] [-f] [-n]\n"
	    "  -c FILE  configuration (default " DEFAULT_CONF ")\n"
	    "  -f       log to stderr instead of syslog (it never detaches)\n"
	    "  -n       check the configuration and exit\n"
	    "  -h       this help (also --help; -V or --version: the version)\n"
	    "Keys: web_listen, web_socket_mode, web_proxy, web_user_header,\n"
	    "web_admins, user, group, and the store's. See edgespam-web(8).\n");
}

/* load - the configuration, every error printed; NULL on failure. */
static struct conf *
load(const char *path)
{
	struct conf_diag diag = {NULL, 0};
	struct conf *cf = NULL;
	int rc;

	rc = conf_load(path, &cf, &diag);
	for (size_t i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.msgs[i]);
	conf_diag_free(&diag);
	if (rc != 0) {
		if (diag.n == 0)
			fprintf(stderr, "%s: %s\n", path, es_strerror(rc));
		return NULL;
	}
	return cf;
}

/* open_store - the store, the engine and the auth secret, as the user. */
static int
open_store(struct web *w)
{
	struct store_params sp;
	char err[512];
	int rc;

	if ((rc = conf_engine_cfg(w->cf, &w->ecfg)) != 0) {
		es_log_err("configuration: %s", es_strerror(rc));
		return EX_CONFIG;
	}
	if ((rc = web_auth_init(&w->auth, conf_list(w->cf, "web_proxy"), err,
		 sizeof(err))) != 0) {
		es_log_err("%s", err);
		return rc == ES_EINVAL ? EX_CONFIG : EX_OSERR;
	}
	if ((w->eng = cls_engine_new()) == NULL) {
		es_log_err("out of memory");
		return EX_OSERR;
	}
	conf_store_params(w->cf, &sp);
	if ((rc = store_open(&sp, &w->st, err, sizeof(err))) != 0) {
		es_log_err("store: %s", err);
		return rc == ES_ETRANSIENT ? EX_TEMPFAIL : EX_UNAVAILABLE;
	}
	return EX_OK;
}

/* serve - run until SIGTERM or SIGINT (SIGHUP is ignored: the pages
 * read the store anew on every request; configuration changes need a
 * restart). */
static int
serve(struct web *w, int fd)
{
	sigset_t sigs;
	void *d;
	int sig = 0;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	/* blocked before the server's thread exists, so it inherits it */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if ((d = web_http_start(w, fd)) == NULL)
		return EX_UNAVAILABLE;
	es_log_notice("serving on %s for the proxy %s (user header %s)",
	    conf_str(w->cf, "web_listen"),
	    w->unix_listen ? "behind the socket" : conf_text(w->cf, "web_proxy"),
	    conf_str(w->cf, "web_user_header"));
	while (sig != SIGTERM && sig != SIGINT) {
		if (sigwait(&sigs, &sig) != 0)
			break;
		if (sig == SIGHUP)
			es_log_info("SIGHUP ignored: restart to read the "
			            "configuration");
	}
	web_http_stop(d);
	es_log_notice("stopped");
	return EX_OK;
}

int
main(int argc, char **argv)
{
	const char *conf_path = DEFAULT_CONF;
	struct web w;
	bool fg = false, check = false, root = geteuid() == 0;
	uid_t uid = 0;
	gid_t gid = 0;
	char err[PATH_MAX + 256];
	int fd, rc;

	memset(&w, 0, sizeof(w));
	if (!es_start_args(argc, argv, "edgespam-web", VERSION, usage,
		&conf_path, &fg, &check, &rc))
		return rc;
	if ((w.cf = load(conf_path)) == NULL)
		return EX_CONFIG;
	if (root && *conf_str(w.cf, "user") != '\0' &&
	    es_start_ids(w.cf, &uid, &gid, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", conf_path, err);
		return EX_CONFIG;
	}
	if (check) {
		printf("%s: configuration ok\n", conf_path);
		return EX_OK;
	}
	es_log_open("edgespam-web", fg, conf_log_facility(w.cf),
	    conf_log_level(w.cf));
	signal(SIGPIPE, SIG_IGN);
	umask(027);
	if ((fd = web_listen_open(conf_str(w.cf, "web_listen"),
		 (unsigned)conf_int(w.cf, "web_socket_mode"), &w.unix_listen,
		 err, sizeof(err))) < 0) {
		es_log_err("web_listen: %s", err);
		return EX_UNAVAILABLE;
	}
	if (root && *conf_str(w.cf, "user") != '\0') {
		if (es_start_drop(uid, gid, err, sizeof(err)) != 0) {
			es_log_err("%s", err);
			return EX_OSERR;
		}
		es_log_info("running as %s (uid %u)", conf_str(w.cf, "user"),
		    (unsigned)uid);
	} else if (root) {
		es_log_warning("running as root: set \"user\" in %s",
		    conf_path);
	}
	if ((rc = open_store(&w)) == EX_OK)
		rc = serve(&w, fd);
	close(fd);
	store_close(w.st);
	cls_engine_free(w.eng);
	conf_free(w.cf);
	es_log_close();
	return rc;
}
