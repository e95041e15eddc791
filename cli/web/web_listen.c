/*
 * web_listen.c - parse and open web_listen (see web_listen.h). No
 * logging; errors name the address and the system's reason.
 */
#include "web_listen.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "es_err.h"

#define BACKLOG 64

/* An address to bind. */
struct where {
	bool is_unix;
	struct sockaddr_storage ss;
	socklen_t len;
};

/* parse - spec into w; 0 or ES_EINVAL (err says why). */
static int
parse(const char *spec, struct where *w, char *err, size_t errlen)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&w->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&w->ss;
	struct sockaddr_un *un = (struct sockaddr_un *)&w->ss;
	char host[64];
	const char *colon, *h = spec;
	size_t hl;
	char *end;
	long port;

	memset(w, 0, sizeof(*w));
	if (strncmp(spec, "unix:", 5) == 0) {
		w->is_unix = true;
		un->sun_family = AF_UNIX;
		if (spec[5] != '/' ||
		    strlcpy(un->sun_path, spec + 5, sizeof(un->sun_path)) >=
		        sizeof(un->sun_path)) {
			snprintf(err, errlen, "\"%s\": unix: needs an absolute "
			    "path of at most %zu bytes", spec,
			    sizeof(un->sun_path) - 1);
			return ES_EINVAL;
		}
		w->len = sizeof(*un);
		return 0;
	}
	if ((colon = strrchr(spec, ':')) == NULL) {
		snprintf(err, errlen, "\"%s\": not HOST:PORT or unix:PATH",
		    spec);
		return ES_EINVAL;
	}
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "\"%s\": no host", spec);
		return ES_EINVAL;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
		snprintf(err, errlen, "\"%s\": the port is not 1..65535", spec);
		return ES_EINVAL;
	}
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		w->len = sizeof(*v4);
		if ((ntohl(v4->sin_addr.s_addr) >> 24) == 127)
			return 0;
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		w->len = sizeof(*v6);
		if (IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
			return 0;
	} else {
		snprintf(err, errlen, "\"%s\": the host is not an IP address "
		    "(names are not looked up)", spec);
		return ES_EINVAL;
	}
	snprintf(err, errlen, "\"%s\": not a loopback address (127.0.0.0/8 "
	    "or [::1]); put the site's web server in front", spec);
	return ES_EINVAL;
}

int
web_listen_check(const char *spec, char *err, size_t errlen)
{
	struct where w;

	return parse(spec, &w, err, errlen);
}

/* clear_stale - remove a socket left at path; refuse anything else. */
static int
clear_stale(const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (lstat(path, &sb) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s exists and is no socket", path);
		errno = EEXIST;
		return -2;
	}
	return unlink(path);
}

int
web_listen_open(const char *spec, unsigned mode, bool *is_unix, char *err,
    size_t errlen)
{
	struct where w;
	const char *path;
	mode_t old;
	int fd, one = 1, rc;

	if (parse(spec, &w, err, errlen) != 0)
		return -1;
	*is_unix = w.is_unix;
	path = ((struct sockaddr_un *)&w.ss)->sun_path;
	if (w.is_unix && (rc = clear_stale(path, err, errlen)) != 0) {
		if (rc == -1)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fd = socket(w.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", spec, strerror(errno));
		return -1;
	}
	if (!w.is_unix)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
	/* the mode is right from the start: no moment with a wider one */
	old = umask((mode_t)(~mode & 0777));
	rc = bind(fd, (struct sockaddr *)&w.ss, w.len);
	umask(old);
	if (rc != 0 || listen(fd, BACKLOG) != 0) {
		snprintf(err, errlen, "%s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
