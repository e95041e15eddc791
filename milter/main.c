/*
 * main.c - edgespam-milter: command line and daemon life cycle.
 *
 *   edgespam-milter [-c FILE] [-f] [-n]
 *
 * Start: load the configuration (every error as file:line, exit 78),
 * open the socket as root (a stale unix socket is replaced; owner and
 * mode set), write the pid file, open the store, give the store's files
 * and directory to the configured user, drop root, run libmilter.
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
#include <grp.h>
#include <libutil.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
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
#include "milter.h"

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
    "milter_socket_owner", "milter_socket_mode", "user", "group",
    "pid_file", "log_facility", NULL};

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
		    strcmp(k, "milter_socket_mode") == 0) {
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

/* lookup_owner - "user" or "user:group" to ids; false if unknown. */
static bool
lookup_owner(const char *spec, uid_t *uid, gid_t *gid)
{
	char name[256], *colon;
	struct passwd *pw;
	struct group *gr;

	if (snprintf(name, sizeof(name), "%s", spec) >= (int)sizeof(name))
		return false;
	if ((colon = strchr(name, ':')) != NULL)
		*colon++ = '\0';
	if ((pw = getpwnam(name)) == NULL)
		return false;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon != NULL && *colon != '\0') {
		if ((gr = getgrnam(colon)) == NULL)
			return false;
		*gid = gr->gr_gid;
	}
	return true;
}

/* ensure_dir - the directory of path exists (mode 0750, owned by uid). */
static int
ensure_dir(const char *path, uid_t uid, gid_t gid, bool chown_it)
{
	char dir[PATH_MAX], *slash;
	struct stat sb;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -1;
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (stat(dir, &sb) == 0)
		return 0;
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		es_log_err("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (chown_it && chown(dir, uid, gid) != 0) {
		es_log_err("cannot give %s to uid %u: %s", dir, (unsigned)uid,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
open_socket(const struct conf *cf, bool root)
{
	const char *spec = conf_str(cf, "milter_socket");
	const char *path = NULL;
	mode_t mode = (mode_t)conf_int(cf, "milter_socket_mode");
	uid_t uid;
	gid_t gid;

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
	if (path != NULL && (*path != '/' || ensure_dir(path, 0, 0, false))) {
		if (*path != '/')
			es_log_err("milter_socket: %s is not an absolute path",
			    path);
		return -1;
	}
	/* the largest packet libmilter takes: a header field of up to 1 MB
	 * (Postfix cuts fields at header_size_limit, 100 KB by default);
	 * a larger one closes the connection and the MTA applies
	 * milter_default_action */
	(void)smfi_setmaxdatasize((1024 * 1024) - 1);
	if (smfi_setconn((char *)spec) != MI_SUCCESS ||
	    smfi_register(mlt_desc) != MI_SUCCESS) {
		es_log_err("libmilter refused the socket %s", spec);
		return -1;
	}
	/* replaces a stale socket file from an earlier run */
	if (smfi_opensocket(true) != MI_SUCCESS) {
		es_log_err("cannot listen on %s (in use, or no permission)",
		    spec);
		return -1;
	}
	if (path == NULL)
		return 0;
	if (chmod(path, mode) != 0) {
		es_log_err("chmod %s: %s", path, strerror(errno));
		return -1;
	}
	if (root && *conf_str(cf, "milter_socket_owner") != '\0') {
		if (!lookup_owner(conf_str(cf, "milter_socket_owner"), &uid,
			&gid)) {
			es_log_err("milter_socket_owner: no such user or group "
				   "\"%s\"",
			    conf_str(cf, "milter_socket_owner"));
			return -1;
		}
		if (chown(path, uid, gid) != 0) {
			es_log_err("chown %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* give_store - the SQLite files and their directory to the user. */
static void
give_store(const struct conf *cf, uid_t uid, gid_t gid)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	const char *path = conf_str(cf, "store_path");
	char f[PATH_MAX], *slash;
	size_t i;

	if (strcmp(conf_str(cf, "store_driver"), "sqlite") != 0)
		return;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
		if (chown(f, uid, gid) != 0 && errno != ENOENT)
			es_log_warning("chown %s: %s", f, strerror(errno));
	}
	snprintf(f, sizeof(f), "%s", path);
	if ((slash = strrchr(f, '/')) != NULL && slash != f) {
		*slash = '\0';
		if (chown(f, uid, gid) != 0)
			es_log_warning("chown %s: %s", f, strerror(errno));
	}
}

static int
drop_root(const struct conf *cf, uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		es_log_err("cannot drop root to uid %u: %s", (unsigned)uid,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		es_log_err("root could be regained after dropping it");
		return -1;
	}
	es_log_info("running as %s (uid %u)", conf_str(cf, "user"),
	    (unsigned)uid);
	return 0;
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
	struct pidfh *pfh = NULL;
	struct mlt_slot *slot;
	struct timespec dl;
	const char *pidpath;
	bool fg = false, check = false, root = geteuid() == 0;
	uid_t uid = 0;
	gid_t gid = 0;
	char err[256], *abs_conf;
	sigset_t sigs;
	const char *sock;
	pid_t other;
	int ch, rc;

	/* the long forms every admin tries first */
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return EX_OK;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		puts("edgespam-milter " VERSION);
		return EX_OK;
	}
	while ((ch = getopt(argc, argv, "c:fnhV")) != -1) {
		switch (ch) {
		case 'c': conf_path = optarg; break;
		case 'f': fg = true; break;
		case 'n': check = true; break;
		case 'h': usage(stdout); return EX_OK;
		case 'V': puts("edgespam-milter " VERSION); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if ((boot = mlt_runtime_load(conf_path, stderr)) == NULL)
		return EX_CONFIG;
	/* reloads happen after daemon() changed to "/" */
	if ((abs_conf = realpath(conf_path, NULL)) != NULL)
		conf_path = abs_conf;
	if (root && *conf_str(boot->cf, "user") != '\0') {
		if (!lookup_owner(conf_str(boot->cf, "user"), &uid, &gid)) {
			fprintf(stderr, "%s: user: no such user \"%s\"\n",
			    conf_path, conf_str(boot->cf, "user"));
			return EX_CONFIG;
		}
		if (*conf_str(boot->cf, "group") != '\0') {
			struct group *gr = getgrnam(conf_str(boot->cf, "group"));

			if (gr == NULL) {
				fprintf(stderr, "%s: group: no such group "
				    "\"%s\"\n", conf_path,
				    conf_str(boot->cf, "group"));
				return EX_CONFIG;
			}
			gid = gr->gr_gid;
		}
	}
	if (check) {
		printf("%s: configuration ok\n", conf_path);
		return EX_OK;
	}
	es_log_open("edgespam-milter", fg, conf_log_facility(boot->cf),
	    conf_log_level(boot->cf));
	signal(SIGPIPE, SIG_IGN);
	umask(027);

	if (open_socket(boot->cf, root) != 0)
		return EX_UNAVAILABLE;
	pidpath = conf_str(boot->cf, "pid_file");
	if (*pidpath != '\0') {
		if (ensure_dir(pidpath, uid, gid, root) != 0)
			return EX_UNAVAILABLE;
		if ((pfh = pidfile_open(pidpath, 0644, &other)) == NULL) {
			if (errno == EEXIST)
				es_log_err("already running as pid %ld (%s)",
				    (long)other, pidpath);
			else
				es_log_err("pid file %s: %s", pidpath,
				    strerror(errno));
			return EX_UNAVAILABLE;
		}
	}
	if (!fg && daemon(0, 0) != 0) {
		es_log_err("daemon: %s", strerror(errno));
		pidfile_remove(pfh);
		return EX_OSERR;
	}
	if (pfh != NULL)
		pidfile_write(pfh);

	conf_store_params(boot->cf, &sp);
	if (root && strcmp(sp.driver, "sqlite") == 0 &&
	    ensure_dir(sp.path, uid, gid, true) != 0)
		goto fail;
	rc = mlt_pool_init(&sp, (size_t)conf_int(boot->cf, "store_pool_size"),
	    err, sizeof(err));
	if (rc != 0) {
		es_log_err("store pool: %s", err);
		goto fail;
	}
	/* Open one handle now (as root: a password file may need it), so a
	 * misconfigured store shows at start; the milter runs on anyway
	 * and takes on_error's action until the store works. */
	mlt_deadline_in(5000, &dl);
	if ((rc = mlt_pool_get(&dl, &slot, err, sizeof(err))) != 0)
		es_log_err("store %s:%s not usable yet: %s (on_error applies "
			   "until it is)",
		    sp.driver, strcmp(sp.driver, "mysql") == 0 ?
			(sp.mysql_database ? sp.mysql_database : "") :
			(sp.path ? sp.path : ""), err);
	else
		mlt_pool_put(slot, false);
	if (root && *conf_str(boot->cf, "user") != '\0') {
		give_store(boot->cf, uid, gid);
		if (drop_root(boot->cf, uid, gid) != 0)
			goto fail;
	}
	/* the housekeeping thread must not take libmilter's signals */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
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
	wait_inflight(boot->timeout_ms + 1000);
	mlt_pool_maintain_stop();
	mlt_pool_destroy();
	if (pfh != NULL)
		pidfile_remove(pfh);
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
	if (pfh != NULL)
		pidfile_remove(pfh);
	return EX_SOFTWARE;
}
