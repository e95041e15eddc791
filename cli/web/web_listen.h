/*
 * web_listen.h - edgespam-web's listening socket (web_listen).
 *
 *   HOST:PORT     TCP on a loopback address: 127.0.0.0/8 or [::1]
 *   unix:PATH     a Unix socket (absolute PATH)
 *
 * Anything else, and any address that is not loopback, is refused:
 * edgespam-web believes the user header of its proxy, so it must not be
 * reachable from the network past the proxy.
 */
#ifndef WEB_LISTEN_H
#define WEB_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

/* web_listen_check - 0 when spec is usable, else ES_EINVAL with the
 * reason in err. Opens nothing. */
int web_listen_check(const char *spec, char *err, size_t errlen);
/*
 * web_listen_open - bind and listen on spec. A Unix socket gets mode
 * (e.g. 0660); a stale socket at its path is removed first, any other
 * kind of file there is refused. *is_unix says which kind it is.
 * Returns the descriptor (close-on-exec), or -1 with err set.
 */
int web_listen_open(const char *spec, unsigned mode, bool *is_unix,
    char *err, size_t errlen);

#endif
