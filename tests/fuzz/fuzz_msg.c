/*
 * fuzz_msg - libFuzzer target over everything that reads a message:
 * parsing (default and tight limits), every tokenizer, the signature
 * search, the header rewrite, signature decoding, and the sender list
 * address scanners (a forwarded message's sender, its candidates), and
 * the recipient's delivery form (cls_rcpt). Any crash, leak,
 * out-of-bounds access or undefined behaviour is a finding.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cls_msg.h"
#include "cls_rcpt.h"
#include "cls_rewrite.h"
#include "cls_sender.h"
#include "cls_sig.h"
#include "cls_token.h"
#include "cls_user.h"
#include "es_alloc.h"
#include "es_buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const char *p, size_t n, const struct cls_limits *lim)
{
	static const enum cls_tokenizer kinds[] = {CLS_TOK_WORD, CLS_TOK_CHAIN,
	    CLS_TOK_OSB, CLS_TOK_EDGESPAM};
	char id[CLS_SIG_ID_LEN + 1], addr[CLS_SENDER_MAX + 1];
	struct cls_sender_cands cands;
	struct cls_msg *m = NULL;
	size_t k;

	if (cls_msg_parse(p, n, lim, &m) != 0)
		return;
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct cls_tok_opts o;
		struct cls_tset *set = cls_tset_new(lim->max_tokens, k == 0);
		uint64_t sender;
		size_t ns;

		if (set == NULL)
			break;
		cls_tok_opts_default(&o, kinds[k]);
		(void)cls_tokenize(m, &o, set);
		(void)cls_sender_token(m, "192.0.2.0/24", &sender);
		cls_tset_sort(set);
		(void)cls_tset_seq(set, &ns);
		cls_tset_free(set);
	}
	(void)cls_sig_find(m, id);
	if (cls_sender_forwarded(m, addr, sizeof(addr), NULL) == 0) {
		cls_sender_cands_init(&cands);
		(void)cls_sender_candidates(&cands, addr, CLS_SENDER_FROM);
	}
	cls_msg_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct cls_limits lim, tight = {.max_scan_bytes = 4096,
	    .max_headers = 8, .max_line = 64, .max_depth = 3, .max_parts = 8,
	    .max_tokens = 50};
	struct cls_field f[1] = {{"X-DSPAM-Result", "Innocent"}};
	struct cls_sig sig;
	struct es_buf out;
	char addr[CLS_SENDER_MAX + 1];

	cls_limits_default(&lim);
	one(p, size, &lim);
	one(p, size, &tight);

	es_buf_init(&out, 4 * size + 4096);
	(void)cls_rewrite(p, size, f, 1, "!DSPAM:0123456789abcdef!", &out);
	es_buf_release(&out);

	if (cls_sig_decode(data, size, &sig) == 0)
		cls_sig_clear(&sig);
	/* a From: value or an envelope sender as the SMTP side sends it */
	(void)cls_sender_address(p, size, addr, sizeof(addr));
	/* a RCPT TO address: its delivery form, the user, the folded form */
	{
		static struct cls_rcpt r;
		static char cut[CLS_RCPT_MAX + 1], fold[CLS_RCPT_MAX + 1];
		char user[CLS_USER_MAX + 1];
		const char *why;

		if (cls_rcpt_canon(p, size, &r, &why) == 0) {
			if (cls_rcpt_cut(&r, "+-", cut, sizeof(cut)) == 0)
				(void)cls_user_normalize(cut, strlen(cut), NULL,
				    user, sizeof(user));
			(void)cls_rcpt_fold(&r, fold, sizeof(fold));
		}
	}
	return 0;
}
