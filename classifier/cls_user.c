/*
 * cls_user.c - user name normalisation (see cls_user.h).
 *
 * Input comes from SMTP (RCPT TO) or the command line; both are checked
 * the same way. Only ASCII is lowercased: an 8-bit byte is kept as it
 * is (RFC 6531 addresses stay distinct but usable).
 */
#include "cls_user.h"

#include <stdbool.h>
#include <string.h>

#include "es_err.h"

int
cls_user_normalize(const char *in, size_t len, const char *delims,
    char *out, size_t outlen)
{
	const char *at;
	size_t i, o = 0, local_end, ats = 0;

	if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
		in++;
		len -= 2;
	}
	/* the limits are the name's, not the input's: an extension of any
	 * length is cut away first */
	if (len == 0)
		return ES_EINVAL;
	at = memchr(in, '@', len);
	local_end = at ? (size_t)(at - in) : len;
	if (at != NULL && delims != NULL && *delims != '\0') {
		for (i = 1; i < local_end; i++)
			if (strchr(delims, in[i]) != NULL) {
				local_end = i;
				break;
			}
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (at != NULL && i >= local_end && in + i < at)
			continue; /* the extension */
		if (ch <= 0x20 || ch == 0x7f)
			return ES_EINVAL;
		if (ch == '@')
			ats++;
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		if (o >= CLS_USER_MAX || o + 1 >= outlen)
			return ES_EINVAL;
		out[o++] = (char)ch;
	}
	if (ats > 1 || o == 0 || (at != NULL && (out[0] == '@' ||
	    out[o - 1] == '@')))
		return ES_EINVAL;
	out[o] = '\0';
	return 0;
}
