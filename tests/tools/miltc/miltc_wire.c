/*
 * miltc_wire.c - miltc's transport: event output, the clock, the
 * non-blocking socket and its deadlines, building and sending commands,
 * reading one reply packet, opening the milter's socket.
 */

#include "miltc.h"

/* miltc_conn_err - record why the conversation failed; returns -1 */
int
miltc_conn_err(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	/* a cut error text is still an error; nothing else to check */
	va_start(ap, fmt);
	vsnprintf(c->c_err, sizeof(c->c_err), fmt, ap);
	va_end(ap);
	return -1;
}

/* miltc_say - print event text unless silent; stdout errors are seen at exit */
void
miltc_say(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->c_out == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(c->c_out, fmt, ap);
	va_end(ap);
}

/* say_safe - print hostile bytes escaped, cut at MILTC_SAY_MAX */
static void
say_safe(struct conn *c, const char *p, size_t n)
{
	size_t i, lim = n > MILTC_SAY_MAX ? MILTC_SAY_MAX : n;
	unsigned char ch;

	if (c->c_out == NULL)
		return;
	for (i = 0; i < lim; i++) {
		ch = (unsigned char)p[i];
		if (ch == '\\')
			fputs("\\\\", c->c_out);
		else if (ch == '\n')
			fputs("\\n", c->c_out);
		else if (ch == '\r')
			fputs("\\r", c->c_out);
		else if (ch == '\t')
			fputs("\\t", c->c_out);
		else if (ch < 0x20 || ch > 0x7e)
			fprintf(c->c_out, "\\x%02x", ch);
		else
			fputc(ch, c->c_out);
	}
	if (lim < n)
		fprintf(c->c_out, "...(%zu bytes)", n);
}

void
miltc_say_str(struct conn *c, const char *s)
{
	say_safe(c, s, strlen(s));
}

int64_t
miltc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
miltc_now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
miltc_put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

uint32_t
miltc_get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
	       (uint32_t)u[2] << 8 | u[3];
}

/*
 * Socket I/O. The socket is non-blocking; every wait goes through poll
 * with a deadline, so a milter that stops reading or answering costs at
 * most the timeout.
 */

/* miltc_wait_fd - wait for events on the socket until deadline */
int
miltc_wait_fd(struct conn *c, short events, int64_t deadline, const char *what)
{
	struct pollfd pfd;
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - miltc_now_ms()) <= 0)
			return miltc_conn_err(
			    c, "%s: timeout after %d s", what, c->c_tmo / 1000);
		pfd.fd = c->c_fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return miltc_conn_err(
			    c, "%s: poll: %s", what, strerror(errno));
	}
}

/* miltc_wire_write - write all n bytes; the clock restarts on progress */
int
miltc_wire_write(struct conn *c, const char *p, size_t n, const char *what)
{
	int64_t deadline = miltc_now_ms() + c->c_tmo;
	ssize_t w;

	while (n > 0) {
		w = send(c->c_fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			deadline = miltc_now_ms() + c->c_tmo;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (miltc_wait_fd(c, POLLOUT, deadline, what) != 0)
				return -1;
		} else {
			return miltc_conn_err(c, "%s: write to milter: %s",
			    what, w < 0 ? strerror(errno) : "no progress");
		}
	}
	return 0;
}

/* wire_read - read exactly n bytes before deadline */
static int
wire_read(struct conn *c, char *p, size_t n, int64_t deadline, const char *what)
{
	ssize_t r;

	while (n > 0) {
		r = recv(c->c_fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		} else if (r == 0) {
			return miltc_conn_err(
			    c, "%s: milter closed the connection", what);
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (miltc_wait_fd(c, POLLIN, deadline, what) != 0)
				return -1;
		} else {
			return miltc_conn_err(c, "%s: read from milter: %s",
			    what, strerror(errno));
		}
	}
	return 0;
}

/* miltc_read_packet - read one reply into c_rcmd and c_rep (NUL-terminated) */
int
miltc_read_packet(struct conn *c, const char *what)
{
	int64_t deadline = miltc_now_ms() + c->c_tmo;
	char head[5], chunk[8192];
	uint32_t len;
	size_t n;

	if (wire_read(c, head, 4, deadline, what) != 0)
		return -1;
	if ((len = miltc_get32(head)) == 0)
		return miltc_conn_err(c, "%s: reply packet of length 0", what);
	if (len - 1 > MILTC_REPLY_MAX)
		return miltc_conn_err(c,
		    "%s: reply of %lu bytes is over the limit of %u", what,
		    (unsigned long)len - 1, MILTC_REPLY_MAX);
	if (wire_read(c, head + 4, 1, deadline, what) != 0)
		return -1;
	c->c_rcmd = (unsigned char)head[4];
	es_buf_reset(&c->c_rep);
	if (es_buf_reserve(&c->c_rep, len - 1) != 0)
		return miltc_conn_err(c,
		    "%s: no memory for a reply of %lu bytes", what,
		    (unsigned long)len - 1);
	for (len--; len > 0; len -= (uint32_t)n) {
		n = len > sizeof(chunk) ? sizeof(chunk) : len;
		if (wire_read(c, chunk, n, deadline, what) != 0)
			return -1;
		if (es_buf_append(&c->c_rep, chunk, n) != 0)
			return miltc_conn_err(c, "%s: reply buffer", what);
	}
	return 0;
}

/*
 * Building commands: errors are sticky in c_pkt_bad and reported by
 * miltc_pkt_send, so a command is built without a check per piece.
 */

void
miltc_pkt_put(struct conn *c, const void *p, size_t n)
{
	if (!c->c_pkt_bad && es_buf_append(&c->c_pkt, p, n) != 0)
		c->c_pkt_bad = true;
}

/* miltc_pkt_str - a string with its NUL */
void
miltc_pkt_str(struct conn *c, const char *s)
{
	miltc_pkt_put(c, s, strlen(s) + 1);
}

void
miltc_pkt_begin(struct conn *c, int cmd)
{
	static const char room[4];
	char ch = (char)cmd;

	es_buf_reset(&c->c_pkt);
	c->c_pkt_bad = false;
	miltc_pkt_put(c, room, sizeof(room));
	miltc_pkt_put(c, &ch, 1);
}

/* miltc_pkt_send - fill in the length and send the command */
int
miltc_pkt_send(struct conn *c, const char *what)
{
	if (c->c_pkt_bad)
		return miltc_conn_err(c,
		    "%s: command over %u bytes or out of memory", what,
		    MILTC_PKT_MAX);
	miltc_put32(c->c_pkt.data, (uint32_t)(c->c_pkt.len - 4));
	return miltc_wire_write(c, c->c_pkt.data, c->c_pkt.len, what);
}

/* miltc_send_cmd - a command without data */
int
miltc_send_cmd(struct conn *c, int cmd, const char *what)
{
	miltc_pkt_begin(c, cmd);
	return miltc_pkt_send(c, what);
}

/*
 * Opening the socket.
 */

/* sock_try - connect one address within the timeout */
static int
sock_try(struct conn *c, int family, const struct sockaddr *sa, socklen_t salen)
{
	int fd, err = 0;
	socklen_t len = sizeof(err);

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return miltc_conn_err(c, "socket: %s", strerror(errno));
	c->c_fd = fd;
	if (connect(fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		err = errno;
	else if (miltc_wait_fd(
	             c, POLLOUT, miltc_now_ms() + c->c_tmo, "connect") != 0)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == 0)
		return 0;
	close(fd);
	c->c_fd = -1;
	return miltc_conn_err(c, "connect: %s", strerror(err));
}

static int
sock_unix(struct conn *c, const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		return miltc_conn_err(c, "socket path too long");
	return sock_try(c, AF_UNIX, (struct sockaddr *)&sun, sizeof(sun));
}

/* sock_inet - PORT@HOST, HOST defaulting to the loopback address */
static int
sock_inet(struct conn *c, const char *arg, int family)
{
	struct addrinfo hints, *res, *ai;
	const char *host = family == AF_INET6 ? "::1" : "127.0.0.1";
	char *port, *at;
	int err;

	if ((port = es_strdup(arg)) == NULL)
		return miltc_conn_err(c, "out of memory");
	if ((at = strchr(port, '@')) != NULL) {
		*at = '\0';
		host = at + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
		es_free(port);
		return miltc_conn_err(c, "%s", gai_strerror(err));
	}
	es_free(port);
	err = miltc_conn_err(c, "no address");
	for (ai = res; ai != NULL && err != 0; ai = ai->ai_next)
		err = sock_try(c, ai->ai_family, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	return err;
}

/* miltc_sock_connect - open the socket named as libmilter names them */
int
miltc_sock_connect(struct conn *c, const char *spec)
{
	if (spec[0] == '/')
		return sock_unix(c, spec);
	if (strncmp(spec, "unix:", 5) == 0)
		return sock_unix(c, spec + 5);
	if (strncmp(spec, "local:", 6) == 0)
		return sock_unix(c, spec + 6);
	if (strncmp(spec, "inet:", 5) == 0)
		return sock_inet(c, spec + 5, AF_INET);
	if (strncmp(spec, "inet6:", 6) == 0)
		return sock_inet(c, spec + 6, AF_INET6);
	if (strchr(spec, ':') == NULL)
		return sock_unix(c, spec);
	return miltc_conn_err(c, "want unix:PATH, inet:PORT@HOST or a path");
}

void
miltc_conn_init(struct conn *c, int tmo, FILE *out)
{
	memset(c, 0, sizeof(*c));
	c->c_fd = -1;
	c->c_tmo = tmo;
	c->c_out = out;
	es_buf_init(&c->c_pkt, MILTC_PKT_MAX);
	es_buf_init(&c->c_rep, MILTC_REPLY_MAX);
	es_buf_init(&c->c_body, (size_t)MILTC_MSG_MAX * 2);
}

/* miltc_conn_close - close the socket; the conn can open again */
void
miltc_conn_close(struct conn *c)
{
	size_t i;

	if (c->c_fd >= 0)
		close(c->c_fd);
	c->c_fd = -1;
	for (i = 0; i < SYM_N; i++) {
		es_free(c->c_syms[i]);
		c->c_syms[i] = NULL;
	}
}

void
miltc_conn_free(struct conn *c)
{
	miltc_conn_close(c);
	es_buf_release(&c->c_pkt);
	es_buf_release(&c->c_rep);
	es_buf_release(&c->c_body);
}
