/*
 * conf_web.h - the values of edgespam-web's keys that the key table
 * cannot check: web_listen's address, web_proxy's addresses and
 * web_user_header's name. conf_validate() runs them for every program,
 * so `edgespam -n`, `edgespam-milter -n` and `edgespam-web -n` agree.
 * No I/O; thread-safe.
 */
#ifndef CONF_WEB_H
#define CONF_WEB_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

/* An address web_listen names. */
struct conf_web_listen {
	bool is_unix;
	struct sockaddr_storage ss; /* AF_UNIX, AF_INET or AF_INET6 */
	socklen_t len;
};

/*
 * conf_web_listen_parse - "HOST:PORT" on a loopback address (127.0.0.0/8
 * or [::1]; names are not looked up) or "unix:/ABSOLUTE/PATH" into l.
 * 0, or ES_EINVAL with the reason in err.
 */
int conf_web_listen_parse(const char *spec, struct conf_web_listen *l,
    char *err, size_t errlen);
/* conf_web_proxy_ok - whether s is an IPv4 or IPv6 address literal. */
bool conf_web_proxy_ok(const char *s);
/* conf_web_header_ok - whether s is an HTTP field name (RFC 9110,
 * 5.1: one or more token characters). */
bool conf_web_header_ok(const char *s);

#endif
