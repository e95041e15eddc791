/*
 * main.c - edgespam-milter: command line and daemon life cycle.
 *
 *   edgespam-milter [-c FILE] [-f] [-n]
 *
 * Start: load the configuration (every error as file:line, exit 78);
 * as root, open and lock the pid file (a running instance shows here,
 * before its socket could be replaced), open the socket (a stale unix
 * socket is replaced; mode and owner set), make the SQLite store's
 * directory when it is missing; drop root; then open the store and run
 * libmilter. Every file root touches is opened through privfile.c, on
 * descriptors, never following a link that another user could have
 * made; the store's files are opened only after the drop, as the user.
 * milter_timeout_s bounds how long libmilter waits for the MTA.
 *
 * Signals: libmilter's signal thread waits in sigwait() and stops on
 * SIGHUP as on SIGTERM. A reload must not stop the milter, so this
 * program provides its own sigwait(): the dynamic linker binds
 * libmilter's call to it, and it handles SIGHUP itself (reload, keep
 * waiting) and passes every other signal on. SIGTERM/SIGINT stop
 * accepting connections; messages in flight finish (up to the message
 * time budget) before the store is closed.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "conf.h"
#include "es_err.h"
#include "es_log.h"
#include "es_start.h"
#include "milter.h"
#include "privfile.h"

#define DEFAULT_CONF "/etc/edgespam/edgespam.conf"

static const char *conf_path = DEFAULT_CONF;
static struct mlt_runtime *boot; /* the settings the daemon started with */

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: edgespam-milter [-c FILE] [-f] [-n]\n"
	    "  -c FILE  configuration (default " DEFAULT_CONF ")\n"
	    "  -f       stay in the foreground, log to stderr\n"
	    "  -n       check the configuration and exit\n"
	    "  -h       this help (also --help; -V or --version: the version)\n"
	    "Signals: HUP reloads the configuration, TERM stops after the\n"
	    "messages in flight. See edgespam-milter(8).\n");
}

/* ---- reload ------------------------------------------------------------ */

/* Keys read once at start; a reload that changes them needs a restart. */
static const char *const startup_keys[] = {"store_driver", "store_path",
    "store_pool_size", "store_busy_timeout_ms", "milter_socket",
    "milter_socket_owner", "milter_socket_mode", "milter_timeout_s", "user",
    "group", "retrain_socket", "pid_file", "log_facility", NULL};

static void
reload(void)
{
	struct mlt_runtime *rt;
	char *errs = NULL, *line, *save = NULL;
	size_t errlen = 0, i;
	FILE *fp;

	if ((fp = open_memstream(&errs, &errlen)) == NULL) {
		es_log_err("reload: %s; keeping the running configuration",
		    strerror(errno));
		return;
	}
	rt = mlt_runtime_load(conf_path, fp);
	fclose(fp);
	for (line = strtok_r(errs, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		es_log_err("reload: %s", line);
	free(errs);
	if (rt == NULL) {
		es_log_err("reload: %s has errors; keeping the running "
			   "configuration",
		    conf_path);
		return;
	}
	for (i = 0; startup_keys[i] != NULL; i++) {
		const char *k = startup_keys[i];
		char a[64], b[64];

		if (strcmp(k, "store_pool_size") == 0 ||
		    strcmp(k, "store_busy_timeout_ms") == 0 ||
		    strcmp(k, "milter_socket_mode") == 0 ||
		    strcmp(k, "milter_timeout_s") == 0) {
			snprintf(a, sizeof(a), "%lld", conf_int(boot->cf, k));
			snprintf(b, sizeof(b), "%lld", conf_int(rt->cf, k));
			if (strcmp(a, b) == 0)
				continue;
		} else if (strcmp(conf_str(boot->cf, k), conf_str(rt->cf, k)) ==
		    0) {
			continue;
		}
		es_log_warning("reload: %s changed; it takes effect at the "
			       "next restart",
		    k);
	}
	es_log_set_level(conf_log_level(rt->cf));
	mlt_runtime_install(rt);
	es_log_notice("reloaded %s", conf_path);
}

/*
 * sigwait - libmilter's signal thread calls this (see the top of the
 * file): SIGHUP reloads here; other signals go back to libmilter.
 */
int
sigwait(const sigset_t *restrict set, int *restrict sig)
{
	siginfo_t si;
	int s;

	for (;;) {
		if ((s = sigwaitinfo(set, &si)) < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (s == SIGHUP) {
			reload();
			continue;
		}
		*sig = s;
		return 0;
	}
}

/* ---- start ------------------------------------------------------------- */

/*
 * open_socket - libmilter's socket. A unix socket's directory is opened
 * through privfile (made, root's, mode 0755, when missing); a link in
 * the socket's place is removed, not followed; bind() makes the socket
 * under a umask that leaves milter_socket_mode, and its owner is set
 * through a descriptor of the socket itself (privfile_socket_own): no
 * chmod or chown by path, which a user able to write the directory
 * could point at any file between the bind and the call.
 */
static int
open_socket(const struct conf *cf, bool root)
{
	const char *spec = conf_str(cf, "milter_socket");
	const char *owner = conf_str(cf, "milter_socket_owner");
	const char *path = NULL, *name;
	mode_t mode = (mode_t)conf_int(cf, "milter_socket_mode"), old;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	char dir[PATH_MAX], err[PATH_MAX + 256], note[PATH_MAX + 128];
	int dfd = -1, rc;

	if (strncmp(spec, "unix:", 5) == 0)
		path = spec + 5;
	else if (strncmp(spec, "local:", 6) == 0)
		path = spec + 6;
	else if (strncmp(spec, "inet:", 5) != 0 &&
	    strncmp(spec, "inet6:", 6) != 0) {
		es_log_err("milter_socket: \"%s\" is not unix:PATH, "
			   "inet:PORT@ADDRESS or inet6:PORT@ADDRESS",
		    spec);
		return -1;
	}
	if (path != NULL && root && *owner != '\0' &&
	    !es_start_owner(owner, &uid, &gid)) {
		es_log_err("milter_socket_owner: no such user or group "
			   "\"%s\"",
		    owner);
		return -1;
	}
	if (path != NULL &&
	    (privfile_split(path, dir, sizeof(dir), &name, err,
		 sizeof(err)) != 0 ||
		privfile_dir(dir, 0755, (uid_t)-1, (gid_t)-1, &dfd, err,
		    sizeof(err)) != 0 ||
		privfile_socket_clear(dfd, path, note, sizeof(note), err,
		    sizeof(err)) != 0)) {
		es_log_err("milter_socket: %s", err);
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	if (path != NULL && note[0] != '\0')
		es_log_warning("milter_socket: %s", note);
	/* the largest packet libmilter takes: a header field of up to 1 MB
	 * (Postfix cuts fields at header_size_limit, 100 KB by default);
	 * a larger one closes the connection and the MTA applies
	 * milter_default_action */
	(void)smfi_setmaxdatasize((1024 * 1024) - 1);
	if (smfi_setconn((char *)spec) != MI_SUCCESS ||
	    smfi_register(mlt_desc) != MI_SUCCESS) {
		es_log_err("libmilter refused the socket %s", spec);
		goto fail;
	}
	/* replaces a stale socket file from an earlier run; bind() gives
	 * the new one 0777 less the umask: exactly the configured mode */
	old = umask(~mode & 0777);
	rc = smfi_opensocket(true);
	umask(old);
	if (rc != MI_SUCCESS) {
		es_log_err("cannot listen on %s (in use, or no permission)",
		    spec);
		goto fail;
	}
	if (path == NULL)
		return 0;
	if (privfile_socket_own(dfd, path, mode, uid, gid, err,
		sizeof(err)) != 0) {
		es_log_err("milter_socket: %s", err);
		goto fail;
	}
	close(dfd);
	return 0;
fail:
	if (dfd >= 0)
		close(dfd);
	return -1;
}

/*
 * store_dir - as root, the SQLite store's directory: made (mode 0700)
 * and given to the user when missing, left as it is when it exists.
 * The store's files are never touched as root (see privfile.c).
 */
static int
store_dir(const char *path, uid_t uid, gid_t gid)
{
	char dir[PATH_MAX], err[PATH_MAX + 256];
	const char *name;
	int fd;

	if (*path != '/')
		return 0; /* relative or not a file: nothing to make */
	if (privfile_split(path, dir, sizeof(dir), &name, err, sizeof(err)) !=
	        0 ||
	    privfile_dir(dir, 0700, uid, gid, &fd, err, sizeof(err)) != 0) {
		es_log_err("store_path: %s", err);
		return -1;
	}
	close(fd);
	return 0;
}

/* pid_close - remove the pid file (or say why it stays) */
static void
pid_close(struct privfile_pid *pf)
{
	char note[PATH_MAX + 128];

	privfile_pid_close(pf, note, sizeof(note));
	if (note[0] != '\0')
		es_log_info("%s", note);
}

/* wait_inflight - after a stop, let messages in flight end. */
static void
wait_inflight(unsigned budget_ms)
{
	struct timespec ts = {0, 50 * 1000000L};
	unsigned waited = 0, n;

	while ((n = mlt_inflight()) > 0 && waited < budget_ms) {
		nanosleep(&ts, NULL);
		waited += 50;
	}
	if (n > 0)
		es_log_warning("stopping with %u message%s still open", n,
		    n == 1 ? "" : "s");
}

int
main(int argc, char **argv)
{
	struct store_params sp;
	struct privfile_pid *pf = NULL;
	struct mlt_slot *slot;
	struct timespec dl;
	const char *pidpath;
	bool fg = false, check = false, root = geteuid() == 0;
	uid_t uid = 0;
	gid_t gid = 0;
	char err[PATH_MAX + 256], note[PATH_MAX + 256], *abs_conf;
	sigset_t sigs;
	const char *sock;
	long other;
	int rc;

	if (!es_start_args(argc, argv, "edgespam-milter", VERSION, usage,
		&conf_path, &fg, &check, &rc))
		return rc;
	if ((boot = mlt_runtime_load(conf_path, stderr)) == NULL)
		return EX_CONFIG;
	/* reloads happen after daemon() changed to "/" */
	if ((abs_conf = realpath(conf_path, NULL)) != NULL)
		conf_path = abs_conf;
	if (root && *conf_str(boot->cf, "user") != '\0' &&
	    es_start_ids(boot->cf, &uid, &gid, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", conf_path, err);
		return EX_CONFIG;
	}
	if (check) {
		printf("%s: configuration ok\n", conf_path);
		return EX_OK;
	}
	es_log_open("edgespam-milter", fg, conf_log_facility(boot->cf),
	    conf_log_level(boot->cf));
	signal(SIGPIPE, SIG_IGN);
	umask(027);
	/* what root makes for the user goes to the user; without a user
	 * to drop to, it stays root's */
	if (!root || *conf_str(boot->cf, "user") == '\0') {
		uid = (uid_t)-1;
		gid = (gid_t)-1;
	}

	/* the pid file first: its lock says whether another instance runs,
	 * before that instance's socket would be replaced */
	pidpath = conf_str(boot->cf, "pid_file");
	if (*pidpath != '\0') {
		rc = privfile_pid_open(pidpath, uid, gid, &pf, &other, note,
		    sizeof(note), err, sizeof(err));
		if (note[0] != '\0')
			es_log_warning("%s", note);
		if (rc == ES_EBUSY) {
			es_log_err("already running as pid %ld (%s)", other,
			    pidpath);
			return EX_UNAVAILABLE;
		}
		if (rc != 0) {
			es_log_err("pid_file: %s", err);
			return EX_UNAVAILABLE;
		}
	}
	(void)smfi_settimeout((int)conf_int(boot->cf, "milter_timeout_s"));
	if (open_socket(boot->cf, root) != 0) {
		pid_close(pf);
		return EX_UNAVAILABLE;
	}
	if (!fg && daemon(0, 0) != 0) {
		es_log_err("daemon: %s", strerror(errno));
		pid_close(pf);
		return EX_OSERR;
	}
	if (pf != NULL && privfile_pid_write(pf, err, sizeof(err)) != 0)
		es_log_warning("%s", err);

	conf_store_params(boot->cf, &sp);
	if (root && strcmp(sp.driver, "sqlite") == 0 &&
	    store_dir(sp.path, uid, gid) != 0)
		goto fail;
	rc = mlt_pool_init(&sp, (size_t)conf_int(boot->cf, "store_pool_size"),
	    err, sizeof(err));
	if (rc != 0) {
		es_log_err("store pool: %s", err);
		goto fail;
	}
	if (uid != (uid_t)-1) {
		if (es_start_drop(uid, gid, err, sizeof(err)) != 0) {
			es_log_err("%s", err);
			goto fail;
		}
		es_log_info("running as %s (uid %u)",
		    conf_str(boot->cf, "user"), (unsigned)uid);
	}
	/* Open one handle now, after the drop: SQLite makes and follows the
	 * store's files with the user's rights only (the MySQL password was
	 * read with the configuration). A misconfigured store shows at
	 * start; the milter runs on and takes on_error's action until the
	 * store works. */
	mlt_deadline_in(5000, &dl);
	if ((rc = mlt_pool_get(&dl, &slot, err, sizeof(err))) != 0) {
		es_log_err("store %s:%s not usable yet: %s (on_error applies "
			   "until it is)",
		    sp.driver, strcmp(sp.driver, "mysql") == 0 ?
			(sp.mysql_database ? sp.mysql_database : "") :
			(sp.path ? sp.path : ""), err);
		if (strcmp(sp.driver, "sqlite") == 0 &&
		    privfile_store_why(sp.path, note, sizeof(note)) == 0)
			es_log_err("store: %s", note);
	} else {
		mlt_pool_put(slot, false);
	}
	/* the housekeeping thread must not take libmilter's signals */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	/* the alias pipes' corrections: the socket is the milter user's;
	 * its umask is set while no other thread runs */
	if (mlt_retrain_start(conf_str(boot->cf, "retrain_socket"), err,
		sizeof(err)) != 0)
		es_log_err("%s: alias pipes that hand corrections to the milter "
			   "exit 75 until it is fixed",
		    err);
	if (mlt_pool_maintain_start(1000) != 0) {
		es_log_err("cannot start the store housekeeping thread");
		goto fail;
	}
	boot->refs++; /* one for main's use of boot, one as current */
	mlt_runtime_install(boot);
	es_log_notice("started on %s (store %s, on_error %s)",
	    conf_str(boot->cf, "milter_socket"), sp.driver,
	    conf_str(boot->cf, "on_error"));
	rc = smfi_main();
	es_log_notice("stopping: waiting for messages in flight");
	mlt_retrain_stop(conf_str(boot->cf, "retrain_socket"));
	wait_inflight(boot->timeout_ms + 1000);
	mlt_pool_maintain_stop();
	mlt_pool_destroy();
	pid_close(pf);
	sock = conf_str(boot->cf, "milter_socket");
	if (strncmp(sock, "unix:", 5) == 0)
		(void)unlink(sock + 5);
	else if (strncmp(sock, "local:", 6) == 0)
		(void)unlink(sock + 6);
	es_log_notice("stopped");
	mlt_runtime_install(NULL);
	mlt_runtime_put(boot);
	free(abs_conf);
	return rc == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
fail:
	pid_close(pf);
	return EX_SOFTWARE;
}
