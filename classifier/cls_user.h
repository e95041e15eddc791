/*
 * cls_user.h - from a recipient address or user name to the name the
 * store knows the user by. The milter (for each RCPT TO) and the CLI
 * (for --user) both use it, so that mail to bob+lists@Example.COM and
 * "--user bob@example.com" meet the same statistics.
 */
#ifndef CLS_USER_H
#define CLS_USER_H

#include <stddef.h>

#define CLS_USER_MAX 128 /* DSPAM's dspam_virtual_uids.username */

/*
 * cls_user_normalize - strip surrounding angle brackets, lowercase
 * ASCII, and in an address (one with '@') cut the local part at the
 * first character of delims (the recipient delimiter, e.g. "+"; NULL or
 * "" for none) unless that would leave it empty. Writes a NUL-terminated
 * name into out (outlen bytes). Returns 0, or ES_EINVAL when the result
 * (not the input: an extension of any length is cut first) is empty,
 * longer than CLS_USER_MAX or out, or has control characters, spaces,
 * or more than one '@'.
 */
int cls_user_normalize(const char *in, size_t len, const char *delims,
    char *out, size_t outlen);

#endif
