/*
 * cli_maildir_watch.h - "maildir-retrain --watch": wait for mail to move
 * in the Maildirs of the last pass (inotify), instead of a timer.
 */
#ifndef CLI_MAILDIR_WATCH_H
#define CLI_MAILDIR_WATCH_H

#include "cli_maildir_scan.h"

struct md_watch;

/* md_watch_new - an empty watch set; NULL with errno when inotify is
 * not available. md_watch_free(NULL) does nothing. */
struct md_watch *md_watch_new(void);
void md_watch_free(struct md_watch *w);

/*
 * md_watch_add - watch the Maildir open as root, with the folders st
 * lists: new folders in the root, and files arriving in or leaving each
 * folder's cur/ and new/. A folder that cannot be watched (the kernel's
 * limit on watches) is left to the periodic pass; returns how many
 * could not.
 */
size_t md_watch_add(struct md_watch *w, int root, const struct md_state *st);

/*
 * md_watch_wait - wait until something moved (then for a quiet second,
 * at most ten, so that a whole IMAP move is seen at once), or period_s
 * seconds passed. Returns 1 for a change, 0 for the period, -1 with
 * errno on an error.
 */
int md_watch_wait(struct md_watch *w, int period_s);

#endif
