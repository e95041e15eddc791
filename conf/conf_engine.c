/*
 * conf_engine.c - the classifier's settings from the configuration.
 * conf_validate() (conf_check.c) calls it on every load, so a file whose
 * engine settings the classifier cannot use is refused by conf_load()
 * for every program.
 */
#include <string.h>

#include "cls_engine.h"
#include "conf.h"
#include "es_err.h"

int
conf_engine_cfg(const struct conf *cf, struct cls_engine_cfg *cfg)
{
	enum cls_tokenizer kind;
	enum cls_algo algo;

	cls_engine_cfg_default(cfg);
	if (cls_tokenizer_parse(conf_str(cf, "tokenizer"), &kind) != 0 ||
	    cls_algo_parse(conf_str(cf, "algorithm"), &algo) != 0 ||
	    cls_mode_parse(conf_str(cf, "training_mode"), &cfg->mode) != 0)
		return ES_EINVAL;
	cfg->lim.max_scan_bytes = (size_t)conf_int(cf, "max_scan_bytes");
	cfg->lim.max_headers = (size_t)conf_int(cf, "max_headers");
	cfg->lim.max_line = (size_t)conf_int(cf, "max_header_line");
	cfg->lim.max_depth = (unsigned)conf_int(cf, "max_mime_depth");
	cfg->lim.max_parts = (size_t)conf_int(cf, "max_mime_parts");
	cfg->lim.max_tokens = (size_t)conf_int(cf, "max_tokens");
	cls_tok_opts_default(&cfg->tok, kind);
	cls_score_opts_default(&cfg->score, algo);
	cfg->score.spam_threshold = conf_double(cf, "spam_threshold");
	cfg->score.threshold_ramp = (unsigned)conf_int(cf, "threshold_ramp");
	cfg->score.min_training = (unsigned)conf_int(cf, "min_training");
	cfg->score.whitelist_threshold =
	    (unsigned)conf_int(cf, "whitelist_threshold");
	cfg->score.bnr = conf_bool(cf, "bnr");
	cfg->factors = (size_t)conf_int(cf, "factors");
	if (strlcpy(cfg->shared.name, conf_str(cf, "shared_dictionary"),
	        sizeof(cfg->shared.name)) >= sizeof(cfg->shared.name))
		return ES_EINVAL;
	cfg->shared.opts.innocent_min =
	    (uint64_t)conf_int(cf, "shared_innocent_min");
	cfg->shared.opts.spam_min = (uint64_t)conf_int(cf, "shared_spam_min");
	cfg->shared.spam_threshold = conf_double(cf, "shared_spam_threshold");
	cfg->shared.fp_weight = conf_double(cf, "shared_fp_weight");
	cfg->shared.learn_corrections =
	    conf_bool(cf, "shared_learn_corrections");
	return 0;
}
