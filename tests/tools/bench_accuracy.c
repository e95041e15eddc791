/*
 * bench_accuracy - online accuracy and speed of edgespam beside
 * bogofilter on a labelled corpus.
 *
 *   bench_accuracy -d CORPUS [-s SEED] [-m teft|toe] [-w WORKDIR]
 *       [-c CONF] [-b BOGOFILTER] [-e EDGESPAM -n N] [-o SCORES] [-S]
 *
 * CORPUS holds directories of one message per NAME.txt file (other
 * files are ignored); a directory whose
 * name starts with "spam" holds spam, every other one ham. The messages
 * are put in one fixed order (sorted, then shuffled with SEED) and each
 * is, in one loop: classified by edgespam in this process (learning by
 * the mode, as the milter would), then by bogofilter (-T, its own
 * process); then its true label is taught to both the way each is used
 * in production: edgespam through the signature (a correction when the
 * verdict was wrong), bogofilter with -s / -n (in TOE only on errors).
 *
 * With -S, the whole run is made again by edgespam alone, in this
 * process on a fresh store, for its speed without bogofilter's
 * processes between its messages.
 *
 * With -e, the first N messages also go through the edgespam program,
 * one process per message (--process --stdout), for the per-process
 * rate; it has its own store in WORKDIR.
 *
 * Prints one "key value" line per figure, for tests/bench/run.sh and
 * tests/bench/orders.sh to tabulate: per filter FP, FN, their rates,
 * 1-ROCA%, lam%, and from the ranking alone the least spam missed at
 * 0, 1, 2 and 4 false positives (bench_report). -o writes "label
 * edgespam_score bogofilter_score path" per line.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cls_engine.h"
#include "conf.h"
#include "es_alloc.h"
#include "es_err.h"
#include "store.h"

#include "lib/bench_corpus.h"

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/*
 * spawn_run - run argv with stdin from the file in, stdout into out
 * (outlen bytes, may be NULL to discard). Returns the exit status;
 * *rss_kb gets the child's peak RSS when larger. posix_spawn, not fork: a fork marks
 * every page of this process copy-on-write, and the page faults that
 * follow were charged to edgespam's time in the loop (8 times its CPU
 * time per message) and the fork itself to bogofilter's.
 */
static int
spawn_run(char *const argv[], const char *in, char *out, size_t outlen,
    long *rss_kb)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	int pfd[2], st;
	pid_t pid;
	size_t n = 0;

	if (pipe(pfd) != 0)
		bench_die("%s", "pipe failed");
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
		0) != 0 ||
	    posix_spawn_file_actions_addclose(&fa, pfd[0]) != 0 ||
	    posix_spawn_file_actions_addclose(&fa, pfd[1]) != 0)
		bench_die("%s", "out of memory");
	if ((st = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)) != 0)
		bench_die("cannot run %s: %s", argv[0], strerror(st));
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	for (;;) {
		char sink[8192];
		char *dst = out != NULL && n + 1 < outlen ? out + n : sink;
		size_t room = out != NULL && n + 1 < outlen ? outlen - 1 - n
		                                            : sizeof(sink);
		ssize_t r = read(pfd[0], dst, room);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (dst != sink)
			n += (size_t)r;
	}
	close(pfd[0]);
	if (out != NULL)
		out[n] = '\0';
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			bench_die("%s", "wait4 failed");
	if (ru.ru_maxrss > *rss_kb)
		*rss_kb = ru.ru_maxrss;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/*
 * The spawner: a process forked at the start, while this one is still
 * small, that runs the other programs (spawn_run) for it. A program
 * inherits the peak RSS of the process that started it (Linux keeps the
 * larger of the two at exec), so programs started by this process,
 * which holds the corpus and a store's cache, all reported its 30 MB.
 * Request: u32 length, u32 outlen, then in, argv[0], ... each ending in
 * NUL. Reply: i32 status, i64 peak RSS (KiB), u32 length, the output.
 */
static int sp_req = -1, sp_rep = -1;

static void
io_full(bool wr, int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t r = wr ? write(fd, p, len) : read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			bench_die("spawner pipe: %s", r == 0 ? "closed" : strerror(errno));
		p += r;
		len -= (size_t)r;
	}
}

static void
spawner_serve(void)
{
	uint32_t hdr[2];
	char req[8192], out[4096], *argv[16];
	ssize_t r;

	while ((r = read(sp_req, hdr, sizeof(hdr))) == (ssize_t)sizeof(hdr)) {
		size_t n = 0, argc = 0;
		long rss = 0;
		int32_t st;
		int64_t rss64;
		uint32_t olen;

		if (hdr[0] == 0 || hdr[0] > sizeof(req) || hdr[1] > sizeof(out))
			_exit(2);
		io_full(false, sp_req, req, hdr[0]);
		if (req[hdr[0] - 1] != '\0')
			_exit(2);
		n = strlen(req) + 1; /* in */
		while (n < hdr[0] && argc + 1 < 16) {
			argv[argc++] = req + n;
			n += strlen(req + n) + 1;
		}
		argv[argc] = NULL;
		st = spawn_run(argv, req, hdr[1] ? out : NULL, hdr[1], &rss);
		rss64 = rss;
		olen = hdr[1] ? (uint32_t)strlen(out) : 0;
		io_full(true, sp_rep, &st, sizeof(st));
		io_full(true, sp_rep, &rss64, sizeof(rss64));
		io_full(true, sp_rep, &olen, sizeof(olen));
		if (olen > 0)
			io_full(true, sp_rep, out, olen);
	}
	_exit(0);
}

/* spawner_start - fork the spawner; run() then goes through it. */
static void
spawner_start(void)
{
	int a[2], b[2];
	pid_t pid;

	if (pipe(a) != 0 || pipe(b) != 0)
		bench_die("%s", "pipe failed");
	if ((pid = fork()) < 0)
		bench_die("%s", "fork failed");
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		sp_req = a[0];
		sp_rep = b[1];
		spawner_serve();
	}
	close(a[0]);
	close(b[1]);
	sp_req = a[1];
	sp_rep = b[0];
}

/* run - spawn_run, through the spawner once it is started. */
static int
run(char *const argv[], const char *in, char *out, size_t outlen,
    long *rss_kb)
{
	char req[8192];
	uint32_t hdr[2], olen;
	size_t n = 0, k;
	int32_t st;
	int64_t rss;

	if (sp_req < 0)
		return spawn_run(argv, in, out, outlen, rss_kb);
	for (size_t i = 0; i == 0 || argv[i - 1] != NULL; i++) {
		const char *a = i == 0 ? in : argv[i - 1]; /* in, then argv */

		if ((k = strlen(a) + 1) > sizeof(req) - n)
			bench_die("%s", "command too long for the spawner");
		memcpy(req + n, a, k);
		n += k;
	}
	hdr[0] = (uint32_t)n;
	hdr[1] = out != NULL ? (uint32_t)(outlen < 4096 ? outlen : 4096) : 0;
	io_full(true, sp_req, hdr, sizeof(hdr));
	io_full(true, sp_req, req, n);
	io_full(false, sp_rep, &st, sizeof(st));
	io_full(false, sp_rep, &rss, sizeof(rss));
	io_full(false, sp_rep, &olen, sizeof(olen));
	if (olen >= (out != NULL ? outlen : 1))
		bench_die("%s", "spawner reply too long");
	if (olen > 0)
		io_full(false, sp_rep, out, olen);
	if (out != NULL)
		out[olen] = '\0';
	if (rss > *rss_kb)
		*rss_kb = (long)rss;
	return st;
}

static off_t
path_size(const char *path)
{
	struct stat sb;
	char p[4200];
	off_t n = 0;

	if (stat(path, &sb) == 0)
		n += sb.st_size;
	snprintf(p, sizeof(p), "%s-wal", path);
	if (stat(p, &sb) == 0)
		n += sb.st_size;
	return n;
}

/* report - the figures of filter who (bogo: bogofilter's) over the run,
 * its rate, peak RSS and store size. */
static void
report(const char *who, const struct bench_corpus *c, bool bogo, double secs,
    long rss_kb, off_t size)
{
	bench_report(who, c->v, c->n, bogo ? 1 : 0);
	printf("%s.rate %.1f\n", who, secs > 0 ? c->n / secs : 0);
	printf("%s.rss_kb %ld\n", who, rss_kb);
	printf("%s.store_bytes %lld\n", who, (long long)size);
}

/*
 * es_one - message i through edgespam in this process: classify and
 * learn by the mode, then, when the verdict was wrong, correct it
 * through its signature. Adds the wall and CPU seconds it took.
 */
static void
es_one(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, struct bench_item *it, uint64_t seed,
    size_t i, double *secs, double *cpu)
{
	struct cls_engine_result r;
	unsigned char rnd[16];
	uint64_t s = seed ^ (i * 0x9e3779b97f4a7c15ULL);
	size_t len, k;
	char *msg = bench_read_file(it->path, &len), err[512];
	double t0, c0;
	int rc;

	for (k = 0; k < 16; k += 8) {
		uint64_t v = bench_mix(&s);

		memcpy(rnd + k, &v, 8);
	}
	t0 = now_s();
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	rc = cls_engine_process(e, st, uid, cfg, CLS_ENGINE_PROCESS, msg, len,
	    rnd, time(NULL), &r, err, sizeof(err));
	if (rc != 0)
		bench_die("edgespam failed: %s", err);
	it->score[0] = r.score;
	it->verdict[0] = r.result == CLS_SPAM;
	if (it->verdict[0] != it->spam) {
		enum cls_class want = it->spam ? CLS_CLASS_SPAM : CLS_CLASS_INNOCENT;
		char sig[CLS_SIG_ID_LEN + 1];

		strlcpy(sig, r.sig, sizeof(sig));
		if (sig[0] != '\0')
			rc = cls_engine_correct(e, st, uid, cfg, sig, want,
			    time(NULL), &r, err, sizeof(err));
		else
			rc = cls_engine_train(e, st, uid, cfg, msg, len, want,
			    CLS_SRC_ERROR, time(NULL), &r, err, sizeof(err));
		if (rc != 0)
			bench_die("edgespam correction failed: %s", err);
	}
	*secs += now_s() - t0;
	*cpu += clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	free(msg);
}

/*
 * open_fresh - a new SQLite (or memory) store at db with the user of the
 * benchmark; *uid gets its uid.
 */
static struct store *
open_fresh(struct store_params *sp, const char *db, uint32_t *uid)
{
	char err[512], side[4200];
	struct store *st = NULL;

	unlink(db);
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
	sp->path = db;
	if (store_open(sp, &st, err, sizeof(err)) != 0)
		bench_die("cannot open the store: %s", err);
	if (store_user_uid(st, "bench@example.org", true, uid) != 0)
		bench_die("%s", "cannot create the user");
	return st;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench_accuracy -d CORPUS [-s SEED] [-m teft|toe] "
	    "[-w WORKDIR] [-c CONF]\n"
	    "       [-b BOGOFILTER] [-e EDGESPAM -n N] [-o SCORES] [-S]\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *work = NULL, *conf_path = NULL;
	const char *bogo = NULL, *prog = NULL, *scores = NULL;
	enum cls_mode mode = CLS_MODE_TEFT;
	bool solo = false;
	uint64_t seed = 42;
	size_t nproc = 0, i;
	struct bench_corpus c = {0};
	struct conf *cf = NULL;
	struct cls_engine_cfg cfg;
	struct store_params sp;
	struct store *st = NULL;
	struct cls_engine *e;
	char db[4096], bfdir[4096];
	double es_secs = 0, es_cpu = 0, bf_secs = 0, t0;
	long bf_rss = 0, cli_rss = 0;
	uint32_t uid;
	int ch, rc;

	bench_prog = "bench_accuracy";
	while ((ch = getopt(argc, argv, "d:s:m:w:c:b:e:n:o:S")) != -1) {
		switch (ch) {
		case 'S': solo = true; break;
		case 'd': dir = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'm':
			if (cls_mode_parse(optarg, &mode) != 0)
				usage();
			break;
		case 'w': work = optarg; break;
		case 'c': conf_path = optarg; break;
		case 'b': bogo = optarg; break;
		case 'e': prog = optarg; break;
		case 'n': nproc = strtoul(optarg, NULL, 10); break;
		case 'o': scores = optarg; break;
		default: usage();
		}
	}
	if (dir == NULL || work == NULL)
		usage();
	spawner_start(); /* before this process grows */
	bench_load(&c, dir, NULL, seed);

	/* without -c: the built-in defaults, which the sample configuration
	 * and conf_defaults() repeat (a unit test keeps them equal) */
	cls_engine_cfg_default(&cfg);
	memset(&sp, 0, sizeof(sp));
	sp.driver = "sqlite";
	sp.busy_timeout_ms = 2000;
	if (conf_path != NULL) {
		bench_conf(conf_path, &cf, &cfg);
		conf_store_params(cf, &sp);
	}
	cfg.mode = mode;
	snprintf(db, sizeof(db), "%s/edgespam-%s.db", work,
	    cls_mode_name(mode));
	if (strcmp(sp.driver, "sqlite") != 0 && strcmp(sp.driver, "memory"))
		sp.driver = "sqlite";
	st = open_fresh(&sp, db, &uid);
	if ((e = cls_engine_new()) == NULL)
		bench_die("%s", "out of memory");
	snprintf(bfdir, sizeof(bfdir), "%s/bogofilter-%s", work,
	    cls_mode_name(mode));
	if (bogo != NULL) {
		char cmd[2 * sizeof(bfdir) + 64];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'",
		    bfdir, bfdir);
		if (system(cmd) != 0)
			bench_die("cannot make %s", bfdir);
	}

	for (i = 0; i < c.n; i++) {
		struct bench_item *it = &c.v[i];

		es_one(e, st, uid, &cfg, it, seed, i, &es_secs, &es_cpu);

		if (bogo != NULL) {
			char out[256], *argv_t[] = {(char *)bogo, "-T", "-d",
			    bfdir, NULL};
			char *argv_l[] = {(char *)bogo, it->spam ? "-s" : "-n",
			    "-d", bfdir, NULL};
			double sc = 0.5;

			t0 = now_s();
			rc = run(argv_t, it->path, out, sizeof(out), &bf_rss);
			/* "S 0.99..." / "H ..." / "U ..."; an empty wordlist
			 * may print nothing: unsure. */
			if (strlen(out) > 2)
				sc = strtod(out + 2, NULL);
			it->score[1] = sc;
			it->verdict[1] = out[0] == 'S';
			if (mode == CLS_MODE_TEFT || it->verdict[1] != it->spam)
				run(argv_l, it->path, NULL, 0, &bf_rss);
			bf_secs += now_s() - t0;
		}
		if ((i + 1) % 1000 == 0)
			fprintf(stderr, "bench_accuracy: %s %zu/%zu\n",
			    cls_mode_name(mode), i + 1, c.n);
	}
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		report("edgespam", &c, false, es_secs, ru.ru_maxrss,
		    path_size(db));
		/* CPU seconds of this process (user + system): the rate on
		 * one core, whatever else the machine runs meanwhile */
		printf("edgespam.cpu_rate %.1f\n", es_cpu > 0 ? c.n / es_cpu : 0);
	}
	if (bogo != NULL) {
		char p[4200];

		snprintf(p, sizeof(p), "%s/wordlist.db", bfdir);
		report("bogofilter", &c, true, bf_secs, bf_rss, path_size(p));
	}

	if (solo) {
		/* The same run again, edgespam alone on a fresh store: in the
		 * loop above bogofilter's processes and writes run between
		 * edgespam's messages and take its caches and the disk. The
		 * verdicts are the same (same order, same signatures). */
		double secs = 0, cpu = 0;
		size_t changed = 0;

		store_close(st);
		st = open_fresh(&sp, db, &uid);
		for (i = 0; i < c.n; i++) {
			struct bench_item it = c.v[i];

			es_one(e, st, uid, &cfg, &it, seed, i, &secs, &cpu);
			changed += it.verdict[0] != c.v[i].verdict[0];
		}
		printf("edgespam_solo.messages %zu\n", c.n);
		printf("edgespam_solo.verdicts_changed %zu\n", changed);
		printf("edgespam_solo.rate %.1f\n", secs > 0 ? c.n / secs : 0);
		printf("edgespam_solo.cpu_rate %.1f\n", cpu > 0 ? c.n / cpu : 0);
	}

	if (prog != NULL && nproc > 0) {
		char cdb[4200], cconf[4300];
		FILE *fp;
		double secs;

		snprintf(cdb, sizeof(cdb), "%s/edgespam-cli.db", work);
		unlink(cdb);
		snprintf(cconf, sizeof(cconf), "%s/edgespam-cli.conf", work);
		if ((fp = fopen(cconf, "w")) == NULL)
			bench_die("cannot write %s", cconf);
		if (conf_path != NULL) {
			size_t n;
			char *txt = bench_read_file(conf_path, &n);

			fwrite(txt, 1, n, fp);
			fputc('\n', fp);
			free(txt);
		}
		fprintf(fp, "store_driver = sqlite\nstore_path = %s\n", cdb);
		fclose(fp);
		if (nproc > c.n)
			nproc = c.n;
		t0 = now_s();
		for (i = 0; i < nproc; i++) {
			char *av[] = {(char *)prog, "-c", cconf, "--user",
			    "bench@example.org", "--mode",
			    (char *)cls_mode_name(mode), "--process",
			    "--stdout", NULL};

			if ((rc = run(av, c.v[i].path, NULL, 0, &cli_rss)) != 0)
				fprintf(stderr, "bench_accuracy: edgespam "
				                "exited %d on %s\n",
				    rc, c.v[i].path);
		}
		secs = now_s() - t0;
		printf("edgespam_cli.messages %zu\n", nproc);
		printf("edgespam_cli.rate %.1f\n", secs > 0 ? nproc / secs : 0);
		printf("edgespam_cli.rss_kb %ld\n", cli_rss);
	}

	if (scores != NULL) {
		FILE *fp = fopen(scores, "w");

		if (fp == NULL)
			bench_die("cannot write %s", scores);
		for (i = 0; i < c.n; i++)
			fprintf(fp, "%d %.6f %.6f %s\n", c.v[i].spam,
			    c.v[i].score[0], c.v[i].score[1], c.v[i].path);
		fclose(fp);
	}
	cls_engine_free(e);
	store_close(st);
	conf_free(cf);
	bench_free(&c);
	return 0;
}
