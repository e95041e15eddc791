/*
 * conf_web.c - edgespam-web's keys beyond the key table (see
 * conf_web.h).
 *
 * web_listen is loopback or a Unix socket only: edgespam-web believes
 * the user header of its proxy, so nothing past the proxy may reach it.
 */
#include "conf_web.h"

#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_err.h"

int
conf_web_listen_parse(const char *spec, struct conf_web_listen *w,
    char *err, size_t errlen)
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

bool
conf_web_proxy_ok(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

bool
conf_web_header_ok(const char *s)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || strchr(tchar, *s) != NULL))
			return false;
	return true;
}
