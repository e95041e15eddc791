/*
 * cli_main.c - edgespam, the companion command-line tool.
 *
 * Message modes (the message on standard input):
 *   --user U --classify                 print a verdict, learn nothing
 *   --user U --stdout [--deliver=...]   classify, learn by the mode,
 *                                       write the message with X-DSPAM-*
 *   --user U --class=C --source=S       train or correct
 *   --user U --addspam | --falsepositive   DSPAM's older correction flags
 *   --user U --allow-sender | --block-sender   the forwarded message's
 *                                       original sender onto a list
 * Administration: stats, user (preferences, sender lists), domain,
 * purge, db, sources, history, maildir-retrain; DSPAM's tools: dump, merge,
 * train (and stats with dspam_stats' flags), import-dspam; --check-config,
 * --dump-config. DSPAM's flags that make no sense here (--profile,
 * --debug, --client, --rcpt-to, --mail-from) are accepted and ignored
 * so old alias and maildrop lines keep working; --daemon is refused.
 *
 * Exit codes (sysexits): 0 done, 64 usage, 65 unusable message,
 * 75 store busy or unreachable (an MTA retries the pipe), 77 not
 * allowed to act for that user, 78 configuration error; db check exits
 * 1 when the schema lacks something.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "conf_check.h"
#include "es_err.h"
#include "es_log.h"
#include "store.h"

#define DEFAULT_CONF "/etc/edgespam/edgespam.conf"

static void
usage(FILE *f)
{
	fputs(
	    "usage: edgespam [-c FILE] --user USER [options] < message\n"
	    "       edgespam [-c FILE] stats [-HSrst] [--dspam] [--json] [USER...]\n"
	    "       edgespam [-c FILE] stats USER --daily [--days N] [--json]\n"
	    "       edgespam [-c FILE] user USER [show [--json] | set KEY VALUE |"
	    " unset KEY | opt-in | opt-out | default]\n"
	    "       edgespam [-c FILE] user @default [show [--json] | set KEY "
	    "VALUE | unset KEY]\n"
	    "       edgespam [-c FILE] dump USER [TOKEN...]\n"
	    "       edgespam [-c FILE] merge USER... --into USER [--as-corpus]\n"
	    "       edgespam [-c FILE] train USER --spam PATH --innocent PATH\n"
	    "       edgespam [-c FILE] import-dspam [--conf FILE] [--userdir DIR]"
	    " [--apply]\n"
	    "       edgespam [-c FILE] user allow | block | unallow | unblock "
	    "USER PATTERN\n"
	    "       edgespam [-c FILE] user list USER\n"
	    "       edgespam [-c FILE] --user USER --allow-sender | "
	    "--block-sender < message\n"
	    "       edgespam [-c FILE] domain [list | DOMAIN [show | set POLICY |"
	    " unset]]\n"
	    "       edgespam [-c FILE] purge\n"
	    "       edgespam [-c FILE] db init | check | upgrade "
	    "[--engine=innodb]\n"
	    "       edgespam [-c FILE] sources [--top N] [--since DAYS]\n"
	    "       edgespam [-c FILE] history USER [--since DAYS] [--verdict V]"
	    " [--search TEXT]\n"
	    "                                  [--limit N] [--json]\n"
	    "       edgespam [-c FILE] maildir-retrain [--watch] "
	    "--user USER MAILDIR | --all\n"
	    "       edgespam [-c FILE] --check-config | --dump-config\n"
	    "\n"
	    "message options:\n"
	    "  --classify             print the verdict; learn nothing\n"
	    "  --stdout               classify, learn by the training mode and\n"
	    "                         write the message with X-DSPAM-* fields\n"
	    "  --deliver=LIST         innocent,spam (both required with --stdout:\n"
	    "                         edgespam never discards mail) or summary\n"
	    "  --mode=MODE            teft, toe, tum or notrain\n"
	    "  --class=CLASS          spam or innocent: train or correct\n"
	    "  --source=SOURCE        error (correct a mistake), corpus or\n"
	    "                         inoculation\n"
	    "  --addspam              same as --class=spam --source=error\n"
	    "  --falsepositive        same as --class=innocent --source=error\n"
	    "  --signature=ID         the signature to correct (default: found\n"
	    "                         in the message)\n"
	    "  --allow-sender         put the original sender of the forwarded\n"
	    "  --block-sender         message on the user's allow (block) list\n"
	    "\n"
	    "PATTERN: user@example.com, @example.com (exactly that domain) or\n"
	    "*.example.com (that domain and its subdomains).\n"
	    "\n"
	    "options:\n"
	    "  --feature=LIST         noise (BNR) and whitelist switch on; others\n"
	    "                         are ignored\n"
	    "  -c, --config=FILE      configuration (default " DEFAULT_CONF ")\n"
	    "  -h, --help             this text;  --version\n"
	    "See edgespam(1).\n",
	    f);
}

int
cli_exit_code(int err)
{
	switch (err) {
	case ES_OK:
		return EX_OK;
	case ES_ETRANSIENT:
	case ES_ESTORE:
	case ES_EBUSY:
		return EX_TEMPFAIL;
	case ES_EPARSE:
		return EX_DATAERR;
	case ES_EPERM:
		return EX_NOPERM;
	case ES_EINVAL:
		return EX_USAGE;
	case ES_ENOMEM:
		return EX_OSERR;
	default:
		return EX_SOFTWARE;
	}
}

/* opt_value - the value of "--name=value" or "--name value". */
static const char *
opt_value(const char *arg, const char *name, int *i, int argc, char **argv)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0)
		return NULL;
	if (arg[n] == '=')
		return arg + n + 1;
	if (arg[n] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/* parse_deliver - --deliver=innocent,spam,summary. */
static int
parse_deliver(struct cli *c, const char *v)
{
	char buf[128], *tok, *save = NULL;

	if (strlcpy(buf, v, sizeof(buf)) >= sizeof(buf))
		return -1;
	c->deliver_given = true;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "innocent") == 0 || strcmp(tok, "nonspam") == 0)
			c->deliver_innocent = true;
		else if (strcmp(tok, "spam") == 0)
			c->deliver_spam = true;
		else if (strcmp(tok, "summary") == 0)
			c->deliver_summary = true;
		else if (strcmp(tok, "stdout") == 0)
			c->to_stdout = true;
		else
			return -1;
	}
	return 0;
}

/* parse_feature - DSPAM's --feature list. */
static void
parse_feature(struct cli *c, const char *v)
{
	char buf[128], *tok, *save = NULL;

	strlcpy(buf, v, sizeof(buf));
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "noise") == 0 || strcmp(tok, "no") == 0)
			c->bnr = 1;
		else if (strcmp(tok, "whitelist") == 0 || strcmp(tok, "wh") == 0)
			c->whitelist = 1;
		/* ch, sb, tb=N: tokenizer choices are configuration here */
	}
}

/* bad - a usage error naming the argument. */
static int
bad(const char *what, const char *arg)
{
	fprintf(stderr, "edgespam: %s: %s\n", what, arg);
	fputs("Try 'edgespam --help'.\n", stderr);
	return EX_USAGE;
}

/* load_conf - read the configuration (defaults when the default file is
 * absent); prints every error. */
static int
load_conf(struct cli *c, bool explicit_path)
{
	struct conf_diag diag = {0};
	size_t i;
	int rc;

	if (!explicit_path && access(c->conf_path, F_OK) != 0 && errno == ENOENT)
		rc = conf_defaults(&c->cf);
	else
		rc = conf_load(c->conf_path, &c->cf, &diag);
	if (rc != 0) {
		for (i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.msgs[i]);
		if (diag.n == 0)
			fprintf(stderr, "edgespam: %s: %s\n", c->conf_path,
			    es_strerror(rc));
		conf_diag_free(&diag);
		return rc == ES_ENOMEM ? EX_OSERR : EX_CONFIG;
	}
	conf_diag_free(&diag);
	return 0;
}

static int
check_config(struct cli *c, bool explicit_path, bool dump)
{
	struct conf_diag diag = {0};
	int rc = load_conf(c, explicit_path);
	size_t i;

	if (rc != 0)
		return rc;
	/* what edgespam-milter -n checks beyond the file, as root: the
	 * user it would switch to (one verdict for both programs). Only a
	 * check does: --dump-config shows the settings (make run reads
	 * them before it creates that user) */
	if (!dump && ((rc = conf_check_password(c->cf, &diag)) != 0 ||
	    (geteuid() == 0 &&
		(rc = conf_check_accounts(c->cf, c->conf_path, &diag)) != 0))) {
		for (i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.msgs[i]);
		rc = rc == ES_ENOMEM ? EX_OSERR : EX_CONFIG;
	} else if (dump) {
		conf_dump(c->cf, stdout);
	} else {
		printf("%s: configuration OK\n", c->conf_path);
	}
	conf_diag_free(&diag);
	conf_free(c->cf);
	c->cf = NULL;
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli c;
	bool explicit_conf = false, check = false, dump = false;
	const char *cmd = NULL, *v;
	int i, rc, cmd_at = argc;

	memset(&c, 0, sizeof(c));
	c.bnr = c.whitelist = -1;
	c.conf_path = getenv("EDGESPAM_CONF");
	if (c.conf_path == NULL || *c.conf_path == '\0')
		c.conf_path = DEFAULT_CONF;
	else
		explicit_conf = true;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-') {
			cmd = a;
			cmd_at = i;
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return EX_OK;
		} else if (strcmp(a, "--version") == 0) {
			printf("edgespam %s\n", VERSION);
			return EX_OK;
		} else if (strcmp(a, "-c") == 0 && i + 1 < argc) {
			c.conf_path = argv[++i];
			explicit_conf = true;
		} else if ((v = opt_value(a, "--config", &i, argc, argv))) {
			c.conf_path = v;
			explicit_conf = true;
		} else if (strcmp(a, "--check-config") == 0) {
			check = true;
		} else if (strcmp(a, "--dump-config") == 0) {
			dump = true;
		} else if (strcmp(a, "--user") == 0) {
			/* DSPAM takes several users after one --user */
			while (i + 1 < argc && argv[i + 1][0] != '-') {
				if (c.nusers == CLI_MAX_USERS)
					return bad("too many users", argv[i + 1]);
				c.users[c.nusers++] = argv[++i];
			}
			if (c.nusers == 0)
				return bad("--user needs a name", a);
		} else if (strncmp(a, "--user=", 7) == 0) {
			if (c.nusers == CLI_MAX_USERS)
				return bad("too many users", a);
			c.users[c.nusers++] = a + 7;
		} else if (strcmp(a, "--classify") == 0) {
			c.classify = true;
		} else if (strcmp(a, "--process") == 0) {
			c.process = true;
		} else if (strcmp(a, "--stdout") == 0) {
			c.to_stdout = true;
		} else if ((v = opt_value(a, "--deliver", &i, argc, argv))) {
			if (parse_deliver(&c, v) != 0)
				return bad("bad --deliver value", v);
		} else if ((v = opt_value(a, "--mode", &i, argc, argv))) {
			if (cls_mode_parse(v, &c.mode) != 0)
				return bad("bad --mode (teft, toe, tum, notrain)",
				    v);
			c.have_mode = true;
		} else if ((v = opt_value(a, "--class", &i, argc, argv))) {
			if (cls_class_parse(v, &c.cls) != 0)
				return bad("bad --class (spam, innocent)", v);
			c.have_class = true;
		} else if ((v = opt_value(a, "--source", &i, argc, argv))) {
			if (cls_source_parse(v, &c.source) != 0)
				return bad("bad --source (error, corpus, "
				           "inoculation)",
				    v);
			c.have_source = true;
		} else if (strcmp(a, "--addspam") == 0) {
			c.cls = CLS_CLASS_SPAM;
			c.source = CLS_SRC_ERROR;
			c.have_class = c.have_source = true;
		} else if (strcmp(a, "--allow-sender") == 0 ||
		    strcmp(a, "--block-sender") == 0) {
			enum store_sender_list l = a[2] == 'a'
			    ? STORE_SENDER_ALLOW
			    : STORE_SENDER_BLOCK;

			if (c.sender_list != STORE_SENDER_NONE &&
			    c.sender_list != l)
				return bad("only one of --allow-sender and "
				           "--block-sender",
				    a);
			c.sender_list = l;
		} else if (strcmp(a, "--falsepositive") == 0) {
			c.cls = CLS_CLASS_INNOCENT;
			c.source = CLS_SRC_ERROR;
			c.have_class = c.have_source = true;
		} else if ((v = opt_value(a, "--signature", &i, argc, argv))) {
			c.signature = v;
		} else if ((v = opt_value(a, "--feature", &i, argc, argv))) {
			parse_feature(&c, v);
		} else if (opt_value(a, "--profile", &i, argc, argv) ||
		    opt_value(a, "--rcpt-to", &i, argc, argv) ||
		    opt_value(a, "--mail-from", &i, argc, argv) ||
		    strcmp(a, "--debug") == 0 || strcmp(a, "--client") == 0 ||
		    strcmp(a, "--nofork") == 0) {
			/* DSPAM options without meaning here */
		} else if (strcmp(a, "--daemon") == 0) {
			return bad("no daemon mode; run edgespam-milter", a);
		} else {
			return bad("unknown option", a);
		}
	}

	if (check || dump)
		return check_config(&c, explicit_conf, dump);
	if ((rc = load_conf(&c, explicit_conf)) != 0)
		return rc;
	es_log_open("edgespam", false, conf_log_facility(c.cf),
	    conf_log_level(c.cf));

	if (cmd != NULL) {
		int sargc = argc - cmd_at - 1;
		char **sargv = argv + cmd_at + 1;

		if (c.nusers > 0)
			return bad("a command takes no --user", cmd);
		if (strcmp(cmd, "stats") == 0)
			rc = cli_stats(&c, sargc, sargv);
		else if (strcmp(cmd, "user") == 0)
			rc = cli_user(&c, sargc, sargv);
		else if (strcmp(cmd, "domain") == 0)
			rc = cli_domain(&c, sargc, sargv);
		else if (strcmp(cmd, "purge") == 0)
			rc = cli_purge(&c, sargc, sargv);
		else if (strcmp(cmd, "db") == 0)
			rc = cli_db(&c, sargc, sargv);
		else if (strcmp(cmd, "sources") == 0)
			rc = cli_sources(&c, sargc, sargv);
		else if (strcmp(cmd, "dump") == 0)
			rc = cli_dump(&c, sargc, sargv);
		else if (strcmp(cmd, "merge") == 0)
			rc = cli_merge(&c, sargc, sargv);
		else if (strcmp(cmd, "train") == 0)
			rc = cli_train(&c, sargc, sargv);
		else if (strcmp(cmd, "import-dspam") == 0)
			rc = cli_import_dspam(&c, sargc, sargv);
		else if (strcmp(cmd, "history") == 0)
			rc = cli_history(&c, sargc, sargv);
		else if (strcmp(cmd, "maildir-retrain") == 0)
			rc = cli_maildir(&c, sargc, sargv);
		else
			rc = bad("unknown command", cmd);
	} else if (c.nusers == 0) {
		usage(stderr);
		rc = EX_USAGE;
	} else if (c.sender_list != STORE_SENDER_NONE) {
		/* a list change only: an option it would ignore is a mistake */
		if (c.have_class || c.have_source || c.classify || c.process ||
		    c.to_stdout || c.deliver_given || c.have_mode ||
		    c.signature != NULL)
			rc = bad("--allow-sender and --block-sender take no "
			         "message option (--class, --source, --addspam, "
			         "--falsepositive, --classify, --stdout, "
			         "--deliver, --mode, --signature)",
			    c.sender_list == STORE_SENDER_ALLOW
			        ? "--allow-sender"
			        : "--block-sender");
		else
			rc = cli_sender_pipe(&c);
	} else {
		rc = cli_mail(&c);
	}
	store_close(c.st);
	conf_free(c.cf);
	es_log_close();
	return rc;
}
