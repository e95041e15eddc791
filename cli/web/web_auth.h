/*
 * web_auth.h - whom edgespam-web believes, and its CSRF tokens.
 *
 * edgespam-web authenticates nobody itself: the site's web server does
 * (as DSPAM's CGI left it to Apache) and names the user in a header
 * (web_user_header). That header is believed only on a connection from
 * a configured proxy address (web_proxy) or over the Unix socket;
 * from anywhere else every request is refused, header or not.
 *
 * A state-changing request (POST) must carry the user's CSRF token:
 * HMAC-SHA-256 (GnuTLS) of the user name under a secret drawn at start
 * from the kernel's random source, in hex. A page from another site can
 * make the browser send a POST through the proxy, but cannot read a
 * page to learn the token; tokens of one user are useless for another;
 * a restart draws a new secret (the forms of open pages stop working).
 * Tokens are compared in constant time.
 *
 * No logging. Not thread-safe while being set up; read-only afterwards.
 */
#ifndef WEB_AUTH_H
#define WEB_AUTH_H

#include <sys/socket.h>

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define WEB_AUTH_SECRET 32
#define WEB_AUTH_TOKEN_LEN 64 /* hex of a SHA-256 HMAC */
#define WEB_AUTH_PROXIES 16

struct web_auth {
	unsigned char secret[WEB_AUTH_SECRET];
	struct in6_addr proxy[WEB_AUTH_PROXIES]; /* IPv4 as ::ffff:a.b.c.d */
	size_t nproxy;
};

/*
 * web_auth_init - draw the secret (getrandom) and parse the proxy
 * addresses (IPv4 or IPv6 literals; NULL-terminated list). Returns 0,
 * ES_EINVAL naming the bad address in err, or ES_EIO without
 * randomness.
 */
int web_auth_init(struct web_auth *a, const char *const *proxies, char *err,
    size_t errlen);
/* web_auth_proxy - whether sa (a peer address) is a configured proxy. */
bool web_auth_proxy(const struct web_auth *a, const struct sockaddr *sa);
/* web_auth_token - user's token into out (WEB_AUTH_TOKEN_LEN + 1 bytes).
 * 0, or ES_EINTERNAL when GnuTLS fails. */
int web_auth_token(const struct web_auth *a, const char *user, char *out);
/* web_auth_token_ok - whether token (may be NULL) is user's token;
 * constant time in the token's bytes. */
bool web_auth_token_ok(const struct web_auth *a, const char *user,
    const char *token);
/* web_auth_equal - constant-time comparison of n bytes. */
bool web_auth_equal(const void *a, const void *b, size_t n);

#endif
