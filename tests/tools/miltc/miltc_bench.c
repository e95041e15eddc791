/*
 * miltc_bench.c - benchmark mode (-B): load a corpus, send it over
 * -j connections, one thread each, and print the counts and latencies.
 */

#include "miltc.h"

struct corpus {
	char **cp_paths;
	struct msg **cp_msgs;
	size_t cp_n, cp_cap;
};

enum {
	V_ACCEPT,
	V_CONTINUE,
	V_REJECT,
	V_TEMPFAIL,
	V_DISCARD,
	V_REPLYCODE,
	V_NORCPT,
	V_OTHER,
	V_N
};
static const char *const v_names[V_N] = {"accept", "continue", "reject",
    "tempfail", "discard", "replycode", "norcpt", "other"};

struct bench { /* shared by the threads */
	const struct env *b_env;
	const struct corpus *b_cp;
	size_t b_total;
	/* --duration: stop at this miltc_now_sec(), 0 none */
	double b_deadline;
	const char *b_until;  /* --until: stop once it exists, NULL none */
	atomic_size_t b_next; /* next message number */
	atomic_uint b_shown;  /* errors shown on stderr */
};

struct worker { /* one thread, one connection */
	pthread_t w_tid;
	struct bench *w_b;
	double *w_lat; /* EOM latencies, ms */
	size_t w_nlat, w_latcap;
	size_t w_msgs, w_errors, w_spam, w_innocent, w_deferred;
	size_t w_verdicts[V_N];
};

static int corpus_walk(struct corpus *, const char *, bool, int);

/* corpus_add - keep a path; takes ownership of it */
static int
corpus_add(struct corpus *cp, char *path)
{
	char **v;

	if (cp->cp_n == cp->cp_cap) {
		v = es_reallocarray(
		    cp->cp_paths, cp->cp_cap * 2 + 64, sizeof(*v));
		if (v == NULL) {
			fprintf(stderr, "miltc: %s: out of memory\n", path);
			es_free(path);
			return -1;
		}
		cp->cp_paths = v;
		cp->cp_cap = cp->cp_cap * 2 + 64;
	}
	cp->cp_paths[cp->cp_n++] = path;
	return 0;
}

static bool
is_txt(const char *name)
{
	size_t n = strlen(name);

	return n >= 4 && strcmp(name + n - 4, ".txt") == 0;
}

/* corpus_entry - one directory entry: recurse, keep or skip */
static int
corpus_entry(
    struct corpus *cp, const char *dir, const char *name, bool all, int depth)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	struct stat st;
	char *path;
	int rc = 0;

	if ((path = es_malloc(n)) == NULL) {
		fprintf(stderr, "miltc: %s: out of memory\n", dir);
		return -1;
	}
	snprintf(path, n, "%s/%s", dir, name); /* n is exact */
	if (lstat(path, &st) != 0) {
		fprintf(stderr, "miltc: %s: %s\n", path, strerror(errno));
		rc = -1;
	} else if (S_ISDIR(st.st_mode)) {
		rc = corpus_walk(cp, path, all, depth + 1);
	} else if (S_ISREG(st.st_mode) && (all || is_txt(name))) {
		return corpus_add(cp, path);
	}
	es_free(path);
	return rc;
}

/* corpus_walk - collect the message files under dir */
static int
corpus_walk(struct corpus *cp, const char *dir, bool all, int depth)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (depth > MILTC_DEPTH_MAX) {
		fprintf(stderr, "miltc: %s: more than %d directories deep\n",
		    dir, MILTC_DEPTH_MAX);
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "miltc: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			rc = corpus_entry(cp, dir, de->d_name, all, depth);
	}
	if (rc == 0 && errno != 0) {
		fprintf(stderr, "miltc: %s: %s\n", dir, strerror(errno));
		rc = -1;
	}
	closedir(d);
	return rc;
}

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* corpus_load - sort the paths and parse every message */
static int
corpus_load(struct corpus *cp)
{
	char err[512];
	size_t i;

	qsort(cp->cp_paths, cp->cp_n, sizeof(*cp->cp_paths), cmp_path);
	if ((cp->cp_msgs = es_calloc(cp->cp_n + 1, sizeof(*cp->cp_msgs))) ==
	    NULL) {
		fprintf(stderr, "miltc: corpus: out of memory\n");
		return -1;
	}
	for (i = 0; i < cp->cp_n; i++)
		if ((cp->cp_msgs[i] = miltc_msg_load(
		         cp->cp_paths[i], err, sizeof(err))) == NULL) {
			fprintf(stderr, "miltc: %s\n", err);
			return -1;
		}
	return 0;
}

static void
corpus_free(struct corpus *cp)
{
	size_t i;

	for (i = 0; i < cp->cp_n; i++) {
		es_free(cp->cp_paths[i]);
		if (cp->cp_msgs != NULL)
			miltc_msg_free(cp->cp_msgs[i]);
	}
	es_free(cp->cp_paths);
	es_free(cp->cp_msgs);
}

static int
v_index(int v)
{
	switch (v) {
	case SMFIR_ACCEPT:
		return V_ACCEPT;
	case SMFIR_CONTINUE:
		return V_CONTINUE;
	case SMFIR_REJECT:
		return V_REJECT;
	case SMFIR_TEMPFAIL:
		return V_TEMPFAIL;
	case SMFIR_DISCARD:
		return V_DISCARD;
	case SMFIR_REPLYCODE:
		return V_REPLYCODE;
	case R_NORCPT:
		return V_NORCPT;
	default:
		return V_OTHER;
	}
}

/* bench_greet - open a connection up to HELO */
static int
bench_greet(struct conn *c, const struct env *e)
{
	int r;

	if (miltc_conn_open(c, e) != 0)
		return RUN_ERR;
	if ((r = miltc_do_connect(c, e)) == RUN_DONE)
		r = miltc_do_helo(c, e);
	if (r == RUN_CLOSED)
		miltc_conn_err(
		    c, "CONNECT/HELO: the milter refused the session");
	if (r != RUN_DONE)
		miltc_conn_close(c);
	return r == RUN_DONE ? RUN_DONE : RUN_ERR;
}

/* peer_closed - anything to read between messages means EOF or junk */
static bool
peer_closed(const struct conn *c)
{
	struct pollfd pfd = {c->c_fd, POLLIN, 0};

	return poll(&pfd, 1, 0) != 0;
}

static void
worker_error(struct worker *w, const struct conn *c, const char *path)
{
	w->w_errors++;
	if (atomic_fetch_add(&w->w_b->b_shown, 1) < MILTC_SHOW_MAX)
		fprintf(stderr, "miltc: %s: %s: %s\n", w->w_b->b_env->e_sock,
		    path, c->c_err);
}

/* worker_tally - count a finished message */
static int
worker_tally(struct worker *w, const struct result *res)
{
	double *v;

	w->w_verdicts[v_index(res->r_verdict)]++;
	w->w_deferred += res->r_temp;
	w->w_spam += res->r_spam;
	w->w_innocent += res->r_innocent;
	if (!res->r_eom)
		return 0;
	if (w->w_nlat == w->w_latcap) {
		v = es_reallocarray(
		    w->w_lat, w->w_latcap * 2 + 1024, sizeof(*v));
		if (v == NULL)
			return -1;
		w->w_lat = v;
		w->w_latcap = w->w_latcap * 2 + 1024;
	}
	w->w_lat[w->w_nlat++] = res->r_eom_ms;
	return 0;
}

/* worker_send - one message, on the open connection or a new one */
static void
worker_send(struct worker *w, struct conn *c, struct result *res, size_t i)
{
	const struct corpus *cp = w->w_b->b_cp;
	const char *path = cp->cp_paths[i % cp->cp_n];

	w->w_msgs++;
	if (c->c_fd >= 0 && peer_closed(c))
		miltc_conn_close(c);
	if (c->c_fd < 0 && bench_greet(c, w->w_b->b_env) != RUN_DONE) {
		worker_error(w, c, path);
		return;
	}
	if (miltc_msg_run(c, w->w_b->b_env, cp->cp_msgs[i % cp->cp_n],
	        STAGE_NONE, res) == RUN_ERR) {
		worker_error(w, c, path);
		miltc_conn_close(c);
	} else if (worker_tally(w, res) != 0) {
		miltc_conn_err(c, "out of memory for latencies");
		worker_error(w, c, path);
	}
}

/* bench_over - --duration passed or the --until file exists */
static bool
bench_over(const struct bench *b)
{
	if (b->b_deadline > 0 && miltc_now_sec() >= b->b_deadline)
		return true;
	return b->b_until != NULL && access(b->b_until, F_OK) == 0;
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->w_b;
	struct result res;
	struct conn c;
	size_t i;

	memset(&res, 0, sizeof(res));
	es_buf_init(&res.r_body, MILTC_BODY_MAX);
	miltc_conn_init(&c, b->b_env->e_tmo, NULL);
	while (!bench_over(b) &&
	       (i = atomic_fetch_add(&b->b_next, 1)) < b->b_total)
		worker_send(w, &c, &res, i);
	if (c.c_fd >= 0 && miltc_send_cmd(&c, SMFIC_QUIT, "QUIT") != 0)
		fprintf(stderr, "miltc: %s: %s\n", b->b_env->e_sock, c.c_err);
	miltc_conn_free(&c);
	miltc_result_free(&res);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* percentile - nearest rank of p percent in the sorted v */
static double
percentile(const double *v, size_t n, unsigned p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (n * p + 99) / 100;
	return v[rank > 0 ? rank - 1 : 0];
}

/* bench_report - merge the workers' counts and print them */
static int
bench_report(struct worker *w, size_t nw, size_t jobs, double secs)
{
	size_t i, k, msgs = 0, errors = 0, spam = 0, innocent = 0, nlat = 0;
	size_t deferred = 0;
	size_t verdicts[V_N] = {0};
	double *lat;

	for (i = 0; i < nw; i++)
		nlat += w[i].w_nlat;
	if ((lat = es_reallocarray(NULL, nlat + 1, sizeof(*lat))) == NULL) {
		fprintf(stderr, "miltc: latencies: out of memory\n");
		return 1;
	}
	for (i = 0, nlat = 0; i < nw; i++) {
		if (w[i].w_nlat > 0) /* w_lat is NULL until one came */
			memcpy(
			    lat + nlat, w[i].w_lat, w[i].w_nlat * sizeof(*lat));
		nlat += w[i].w_nlat;
		msgs += w[i].w_msgs;
		errors += w[i].w_errors;
		spam += w[i].w_spam;
		innocent += w[i].w_innocent;
		deferred += w[i].w_deferred;
		for (k = 0; k < V_N; k++)
			verdicts[k] += w[i].w_verdicts[k];
	}
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	printf("messages %zu\nerrors %zu\nconnections %zu\nseconds %.3f\n"
	       "rate %.1f\n",
	    msgs, errors, jobs, secs, secs > 0 ? (double)msgs / secs : 0.0);
	printf("eom_p50_ms %.3f\neom_p99_ms %.3f\neom_max_ms %.3f\n",
	    percentile(lat, nlat, 50), percentile(lat, nlat, 99),
	    nlat > 0 ? lat[nlat - 1] : 0.0);
	for (k = 0; k < V_N; k++)
		printf("verdict.%s %zu\n", v_names[k], verdicts[k]);
	printf("headers.spam %zu\nheaders.innocent %zu\ndeferred %zu\n", spam,
	    innocent, deferred);
	es_free(lat);
	return errors == 0 ? 0 : 1;
}

/* bench_threads - run the workers; returns how many ran */
static size_t
bench_threads(struct bench *b, struct worker *w, size_t jobs)
{
	size_t i, n;
	int err;

	for (n = 0; n < jobs; n++) {
		w[n].w_b = b;
		if ((err = pthread_create(
		         &w[n].w_tid, NULL, worker_run, &w[n])) != 0) {
			fprintf(stderr, "miltc: thread %zu of %zu: %s\n", n + 1,
			    jobs, strerror(err));
			break;
		}
	}
	for (i = 0; i < n; i++)
		if ((err = pthread_join(w[i].w_tid, NULL)) != 0)
			fprintf(stderr, "miltc: join thread %zu: %s\n", i + 1,
			    strerror(err));
	return n;
}

int
miltc_run_bench(const struct cli *o)
{
	struct corpus cp;
	struct bench b;
	struct worker *w;
	size_t i, n;
	double t0;
	int rc;

	memset(&cp, 0, sizeof(cp));
	if (corpus_walk(&cp, o->o_corpus, o->o_all, 0) != 0 ||
	    corpus_load(&cp) != 0) {
		corpus_free(&cp);
		return 1;
	}
	if (cp.cp_n == 0) {
		fprintf(stderr, "miltc: %s: no message files\n", o->o_corpus);
		corpus_free(&cp);
		return 1;
	}
	b.b_env = &o->o_env;
	b.b_cp = &cp;
	b.b_total = o->o_max > 0                          ? o->o_max
	            : o->o_secs > 0 || o->o_until != NULL ? MILTC_MSGS_MAX
	                                                  : cp.cp_n;
	b.b_until = o->o_until;
	b.b_deadline = 0;
	atomic_init(&b.b_next, 0);
	atomic_init(&b.b_shown, 0);
	if ((w = es_calloc(o->o_jobs, sizeof(*w))) == NULL) {
		fprintf(stderr, "miltc: threads: out of memory\n");
		corpus_free(&cp);
		return 1;
	}
	t0 = miltc_now_sec();
	if (o->o_secs > 0)
		b.b_deadline = t0 + (double)o->o_secs;
	n = bench_threads(&b, w, o->o_jobs);
	rc = bench_report(w, n, n, miltc_now_sec() - t0);
	if (n < o->o_jobs)
		rc = 1;
	for (i = 0; i < o->o_jobs; i++)
		es_free(w[i].w_lat);
	es_free(w);
	corpus_free(&cp);
	return rc;
}
