/*
 * web_auth.c - proxy addresses and CSRF tokens (see web_auth.h).
 */
#include "web_auth.h"

#include <sys/random.h>

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "es_err.h"

/* to_v6 - an IPv4 address as its IPv4-mapped IPv6 form. */
static void
to_v6(const struct in_addr *v4, struct in6_addr *v6)
{
	memset(v6, 0, sizeof(*v6));
	v6->s6_addr[10] = 0xff;
	v6->s6_addr[11] = 0xff;
	memcpy(&v6->s6_addr[12], v4, 4);
}

int
web_auth_init(struct web_auth *a, const char *const *proxies, char *err,
    size_t errlen)
{
	size_t got = 0;
	ssize_t n;

	memset(a, 0, sizeof(*a));
	for (; proxies != NULL && *proxies != NULL; proxies++) {
		struct in_addr v4;

		if (a->nproxy == WEB_AUTH_PROXIES) {
			snprintf(err, errlen, "web_proxy: more than %d "
			    "addresses", WEB_AUTH_PROXIES);
			return ES_EINVAL;
		}
		if (inet_pton(AF_INET, *proxies, &v4) == 1)
			to_v6(&v4, &a->proxy[a->nproxy++]);
		else if (inet_pton(AF_INET6, *proxies,
			     &a->proxy[a->nproxy]) == 1)
			a->nproxy++;
		else {
			snprintf(err, errlen, "web_proxy: \"%s\" is not an IP "
			    "address", *proxies);
			return ES_EINVAL;
		}
	}
	while (got < sizeof(a->secret)) {
		n = getrandom(a->secret + got, sizeof(a->secret) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return ES_EIO;
		}
		got += (size_t)n;
	}
	return 0;
}

bool
web_auth_proxy(const struct web_auth *a, const struct sockaddr *sa)
{
	struct in6_addr v6;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		to_v6(&((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    &v6);
	else if (sa->sa_family == AF_INET6)
		v6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return false;
	for (size_t i = 0; i < a->nproxy; i++)
		if (memcmp(&a->proxy[i], &v6, sizeof(v6)) == 0)
			return true;
	return false;
}

int
web_auth_token(const struct web_auth *a, const char *user, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[32];

	/* the purpose goes in too, so that the MAC is of no other use */
	char msg[16 + 256];
	int n = snprintf(msg, sizeof(msg), "edgespam-csrf:%s", user);

	if (n < 0 || (size_t)n >= sizeof(msg) ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, a->secret, sizeof(a->secret),
		msg, (size_t)n, mac) != 0) {
		out[0] = '\0';
		return ES_EINTERNAL;
	}
	for (size_t i = 0; i < sizeof(mac); i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[WEB_AUTH_TOKEN_LEN] = '\0';
	return 0;
}

bool
web_auth_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

bool
web_auth_token_ok(const struct web_auth *a, const char *user,
    const char *token)
{
	char want[WEB_AUTH_TOKEN_LEN + 1];

	if (token == NULL || strlen(token) != WEB_AUTH_TOKEN_LEN ||
	    web_auth_token(a, user, want) != 0)
		return false;
	return web_auth_equal(want, token, WEB_AUTH_TOKEN_LEN);
}
