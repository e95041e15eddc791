/*
 * web_listen.c - open web_listen (see web_listen.h), as conf_web.c
 * parses it. No logging; errors name the address and the system's
 * reason.
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

#include "conf_web.h"
#include "es_err.h"

#define BACKLOG 64

int
web_listen_check(const char *spec, char *err, size_t errlen)
{
	struct conf_web_listen w;

	return conf_web_listen_parse(spec, &w, err, errlen);
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
	struct conf_web_listen w;
	const char *path;
	mode_t old;
	int fd, one = 1, rc;

	if (conf_web_listen_parse(spec, &w, err, errlen) != 0)
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
