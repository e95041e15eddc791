/*
 * cls_dspam_html.c - DSPAM 3.10's markup stripper, re-implemented from
 * its observed behaviour (see cls_dspam_html.h).
 *
 * What DSPAM keeps of an HTML part, and so what this function does:
 *   - text outside tags is copied byte for byte;
 *   - a '<' not followed by a letter, '/' or '!' is no tag: it and the
 *     text up to the next '<' are copied, and that next '<' is dropped
 *     (DSPAM steps over it);
 *   - a tag ends at the first '>' or '<'; it is dropped, except:
 *     <a, <img, <input, <iframe, <frame, <script, <form, <embed, <area,
 *     <base, <link, <source, <body, <blockquote, <q, <ins, <del followed
 *     by white space whose link attribute (href, src, action,
 *     background, cite; looked for as a plain substring within 50 bytes
 *     of the tag name) holds an http:, https: or ftp: address: the
 *     address is written between two spaces (up to its closing quote,
 *     or up to '>' when unquoted; a missing closing quote runs on past
 *     the tag);
 *     <p>, <p + blank, <tr, <option, <br, <li, <div, </select> and
 *     </table> write a newline (unless the output already ends in one);
 *     <applet, <embed, <frameset, <frame, <iframe, <noembed, <noscript,
 *     <object, <script and <style hide everything up to their closing
 *     tag, but only when the link rule above did not take the tag: so
 *     "<script>" hides its content and "<script type=...>" does not;
 *   - a <td that follows a </td> writes one space (unless the output
 *     ends in white space) and, like an entity, hides the white space
 *     after it until the next visible byte;
 *   - named entities are matched case-insensitively, in the order of
 *     DSPAM's table (ascending code point), so "&eacute;" gives the
 *     byte of "&Eacute;"; code points up to 255 become that byte, the
 *     others vanish; "&#NN;" and "&#NNNN;" (leading zeros skipped)
 *     become their byte when 32..255; any other "&#..." vanishes up to
 *     its ';' or blank; white space right after an entity is dropped;
 *   - output stops when it is as long as the input.
 * Limits: the output never passes n + 64 bytes (DSPAM wrote a few bytes
 * past its buffer in the cases that reach that), and every loop moves
 * forward: linear in n apart from the entity table (one byte compared
 * per entry that cannot match).
 * Pure code, no globals; thread-safe.
 */
#include "cls_dspam_html.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "es_alloc.h"
#include "es_err.h"

/* Bytes the output may pass the input's length by (see the manual). */
#define HTML_SLACK 64
/* How far DSPAM looks for a link attribute after the tag name. */
#define HTML_ATTR_WINDOW 50

/* Named entities in DSPAM's order: the first case-insensitive match
 * wins. "&thetasym" lacks its ';' in DSPAM's table, and so here. */
/* clang-format off */
static const struct {
	unsigned code;
	const char *text;
} entities[] = {
    {32, "&nbsp;"}, {34, "&quot;"}, {38, "&amp;"}, {39, "&apos;"},
    {60, "&lt;"}, {62, "&gt;"}, {161, "&iexcl;"}, {162, "&cent;"},
    {163, "&pound;"}, {164, "&curren;"}, {165, "&yen;"}, {166, "&brvbar;"},
    {167, "&sect;"}, {168, "&uml;"}, {169, "&copy;"}, {170, "&ordf;"},
    {171, "&laquo;"}, {172, "&not;"}, {173, "&shy;"}, {174, "&reg;"},
    {175, "&macr;"}, {176, "&deg;"}, {177, "&plusmn;"}, {178, "&sup2;"},
    {179, "&sup3;"}, {180, "&acute;"}, {181, "&micro;"}, {182, "&para;"},
    {183, "&middot;"}, {184, "&cedil;"}, {185, "&sup1;"}, {186, "&ordm;"},
    {187, "&raquo;"}, {188, "&frac14;"}, {189, "&frac12;"}, {190, "&frac34;"},
    {191, "&iquest;"}, {192, "&Agrave;"}, {193, "&Aacute;"}, {194, "&Acirc;"},
    {195, "&Atilde;"}, {196, "&Auml;"}, {197, "&Aring;"}, {198, "&AElig;"},
    {199, "&Ccedil;"}, {200, "&Egrave;"}, {201, "&Eacute;"}, {202, "&Ecirc;"},
    {203, "&Euml;"}, {204, "&Igrave;"}, {205, "&Iacute;"}, {206, "&Icirc;"},
    {207, "&Iuml;"}, {208, "&ETH;"}, {209, "&Ntilde;"}, {210, "&Ograve;"},
    {211, "&Oacute;"}, {212, "&Ocirc;"}, {213, "&Otilde;"}, {214, "&Ouml;"},
    {215, "&times;"}, {216, "&Oslash;"}, {217, "&Ugrave;"}, {218, "&Uacute;"},
    {219, "&Ucirc;"}, {220, "&Uuml;"}, {221, "&Yacute;"}, {222, "&THORN;"},
    {223, "&szlig;"}, {224, "&agrave;"}, {225, "&aacute;"}, {226, "&acirc;"},
    {227, "&atilde;"}, {228, "&auml;"}, {229, "&aring;"}, {230, "&aelig;"},
    {231, "&ccedil;"}, {232, "&egrave;"}, {233, "&eacute;"}, {234, "&ecirc;"},
    {235, "&euml;"}, {236, "&igrave;"}, {237, "&iacute;"}, {238, "&icirc;"},
    {239, "&iuml;"}, {240, "&eth;"}, {241, "&ntilde;"}, {242, "&ograve;"},
    {243, "&oacute;"}, {244, "&ocirc;"}, {245, "&otilde;"}, {246, "&ouml;"},
    {247, "&divide;"}, {248, "&oslash;"}, {249, "&ugrave;"},
    {250, "&uacute;"}, {251, "&ucirc;"}, {252, "&uuml;"}, {253, "&yacute;"},
    {254, "&thorn;"}, {255, "&yuml;"}, {338, "&OElig;"}, {339, "&oelig;"},
    {352, "&Scaron;"}, {353, "&scaron;"}, {376, "&Yuml;"}, {402, "&fnof;"},
    {710, "&circ;"}, {732, "&tilde;"}, {913, "&Alpha;"}, {914, "&Beta;"},
    {915, "&Gamma;"}, {916, "&Delta;"}, {917, "&Epsilon;"}, {918, "&Zeta;"},
    {919, "&Eta;"}, {920, "&Theta;"}, {921, "&Iota;"}, {922, "&Kappa;"},
    {923, "&Lambda;"}, {924, "&Mu;"}, {925, "&Nu;"}, {926, "&Xi;"},
    {927, "&Omicron;"}, {928, "&Pi;"}, {929, "&Rho;"}, {931, "&Sigma;"},
    {932, "&Tau;"}, {933, "&Upsilon;"}, {934, "&Phi;"}, {935, "&Chi;"},
    {936, "&Psi;"}, {937, "&Omega;"}, {945, "&alpha;"}, {946, "&beta;"},
    {947, "&gamma;"}, {948, "&delta;"}, {949, "&epsilon;"}, {950, "&zeta;"},
    {951, "&eta;"}, {952, "&theta;"}, {953, "&iota;"}, {954, "&kappa;"},
    {955, "&lambda;"}, {956, "&mu;"}, {957, "&nu;"}, {958, "&xi;"},
    {959, "&omicron;"}, {960, "&pi;"}, {961, "&rho;"}, {962, "&sigmaf;"},
    {963, "&sigma;"}, {964, "&tau;"}, {965, "&upsilon;"}, {966, "&phi;"},
    {967, "&chi;"}, {968, "&psi;"}, {969, "&omega;"}, {977, "&thetasym"},
    {978, "&upsih;"}, {982, "&piv;"}, {8194, "&ensp;"}, {8195, "&emsp;"},
    {8201, "&thinsp;"}, {8204, "&zwnj;"}, {8205, "&zwj;"}, {8206, "&lrm;"},
    {8207, "&rlm;"}, {8211, "&ndash;"}, {8212, "&mdash;"}, {8216, "&lsquo;"},
    {8217, "&rsquo;"}, {8218, "&sbquo;"}, {8220, "&ldquo;"},
    {8221, "&rdquo;"}, {8222, "&bdquo;"}, {8224, "&dagger;"},
    {8225, "&Dagger;"}, {8226, "&bull;"}, {8230, "&hellip;"},
    {8240, "&permil;"}, {8242, "&prime;"}, {8243, "&Prime;"},
    {8249, "&lsaquo;"}, {8250, "&rsaquo;"}, {8254, "&oline;"},
    {8260, "&frasl;"}, {8364, "&euro;"}, {8465, "&image;"},
    {8472, "&weierp;"}, {8476, "&real;"}, {8482, "&trade;"},
    {8501, "&alefsym;"}, {8592, "&larr;"}, {8593, "&uarr;"}, {8594, "&rarr;"},
    {8595, "&darr;"}, {8596, "&harr;"}, {8629, "&crarr;"}, {8656, "&lArr;"},
    {8657, "&uArr;"}, {8658, "&rArr;"}, {8659, "&dArr;"}, {8660, "&hArr;"},
    {8704, "&forall;"}, {8706, "&part;"}, {8707, "&exist;"},
    {8709, "&empty;"}, {8711, "&nabla;"}, {8712, "&isin;"}, {8713, "&notin;"},
    {8715, "&ni;"}, {8719, "&prod;"}, {8721, "&sum;"}, {8722, "&minus;"},
    {8727, "&lowast;"}, {8730, "&radic;"}, {8733, "&prop;"},
    {8734, "&infin;"}, {8736, "&ang;"}, {8743, "&and;"}, {8744, "&or;"},
    {8745, "&cap;"}, {8746, "&cup;"}, {8747, "&int;"}, {8756, "&there4;"},
    {8764, "&sim;"}, {8773, "&cong;"}, {8776, "&asymp;"}, {8800, "&ne;"},
    {8801, "&equiv;"}, {8804, "&le;"}, {8805, "&ge;"}, {8834, "&sub;"},
    {8835, "&sup;"}, {8836, "&nsub;"}, {8838, "&sube;"}, {8839, "&supe;"},
    {8853, "&oplus;"}, {8855, "&otimes;"}, {8869, "&perp;"}, {8901, "&sdot;"},
    {8968, "&lceil;"}, {8969, "&rceil;"}, {8970, "&lfloor;"},
    {8971, "&rfloor;"}, {9001, "&lang;"}, {9002, "&rang;"}, {9674, "&loz;"},
    {9824, "&spades;"}, {9827, "&clubs;"}, {9829, "&hearts;"},
    {9830, "&diams;"},
};
/* clang-format on */

/* Tags whose link attribute is written out: tag name (with its '<'),
 * attribute. The tag name must be followed by white space. */
static const struct {
	const char *tag;
	const char *attr;
} link_tags[] = {
    {"<a", "href"},
    {"<img", "src"},
    {"<input", "src"},
    {"<iframe", "src"},
    {"<frame", "src"},
    {"<script", "src"},
    {"<form", "action"},
    {"<embed", "src"},
    {"<area", "href"},
    {"<base", "href"},
    {"<link", "href"},
    {"<source", "src"},
    {"<body", "background"},
    {"<blockquote", "cite"},
    {"<q", "cite"},
    {"<ins", "cite"},
    {"<del", "cite"},
};

/* Tags that start a new line in the output. */
static const char *const line_tags[] = {"<p>", "<p ", "<p\t", "<tr", "<option",
    "<br", "<li", "<div", "</select>", "</table>"};

/* Tags whose content is hidden up to the closing tag, in DSPAM's order
 * ("<frameset" before "<frame"). */
static const struct {
	const char *open;
	const char *close;
} hiding_tags[] = {
    {"<applet", "</applet>"},
    {"<embed", "</embed>"},
    {"<frameset", "</frameset>"},
    {"<frame", "</frame>"},
    {"<iframe", "</iframe>"},
    {"<noembed", "</noembed>"},
    {"<noscript", "</noscript>"},
    {"<object", "</object>"},
    {"<script", "</script>"},
    {"<style", "</style>"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* One run of the stripper. */
struct strip {
	const char *s; /* input */
	size_t n;      /* input length */
	char *o;       /* output, cap bytes */
	size_t j;      /* output length */
	size_t cap;
	bool visible;       /* white space is written */
	bool after_td;      /* the last tag was </td> */
	const char *hiding; /* closing tag that ends hidden content */
};

/* at - the input byte at i, NUL past the end. */
static unsigned char
at(const struct strip *st, size_t i)
{
	return i < st->n ? (unsigned char)st->s[i] : 0;
}

/* starts - the input at i begins with p (ASCII case ignored). */
static bool
starts(const struct strip *st, size_t i, const char *p)
{
	size_t l = strlen(p);

	return i <= st->n && st->n - i >= l &&
	       strncasecmp(st->s + i, p, l) == 0;
}

/* out - write one byte (dropped past the slack). */
static void
out(struct strip *st, unsigned char c)
{
	if (st->j < st->cap)
		st->o[st->j++] = (char)c;
}

/* blank - white space as the C library's isspace() in the C locale. */
static bool
blank(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * write_link - the link attribute of the tag at i (name length tl) that
 * ends at e: written between spaces when it holds an http:, https: or
 * ftp: address.
 */
static void
write_link(struct strip *st, size_t i, size_t tl, const char *attr, size_t e)
{
	size_t first = i + tl + 1, u, al = strlen(attr);
	unsigned char quote = 0;

	for (u = first; u <= e; u++) {
		if (starts(st, u, attr)) {
			u += al;
			while (blank(at(st, u)))
				u++;
			if (at(st, u) != '=')
				return;
			u++;
			while (blank(at(st, u)))
				u++;
			quote = at(st, u);
			if (quote == '"' || quote == '\'')
				u++;
			else
				quote = '>';
			break;
		}
		if (u - first >= HTML_ATTR_WINDOW)
			return;
	}
	if (quote == 0 || u >= st->n ||
	    !(starts(st, u, "http:") || starts(st, u, "https:") ||
	        starts(st, u, "ftp:")))
		return;
	out(st, ' ');
	while (st->j < st->n && u < st->n && at(st, u) != quote)
		out(st, at(st, u++));
	out(st, ' ');
}

/* tag - what the tag at i, ending at e ('>', '<' or the end), writes. */
static void
tag(struct strip *st, size_t i, size_t e)
{
	size_t k, tl;

	for (k = 0; k < NELEM(link_tags); k++) {
		tl = strlen(link_tags[k].tag);
		if (starts(st, i, link_tags[k].tag) && i + tl < st->n &&
		    blank(at(st, i + tl))) {
			write_link(st, i, tl, link_tags[k].attr, e);
			return;
		}
	}
	for (k = 0; k < NELEM(line_tags); k++) {
		if (starts(st, i, line_tags[k])) {
			if (st->j > 0 && st->o[st->j - 1] != '\n' &&
			    st->o[st->j - 1] != '\r')
				out(st, '\n');
			return;
		}
	}
	for (k = 0; k < NELEM(hiding_tags); k++) {
		if (starts(st, i, hiding_tags[k].open)) {
			st->hiding = hiding_tags[k].close;
			return;
		}
	}
}

/*
 * lt - the '<' at i; returns the next input position, or i itself
 * when the '<' is the input's last byte and is read as text.
 */
static size_t
lt(struct strip *st, size_t i)
{
	unsigned char c;
	size_t e;

	if (st->hiding != NULL) {
		if (starts(st, i, st->hiding)) {
			i += strlen(st->hiding) - 1;
			st->hiding = NULL;
		}
		return i + 1;
	}
	if (starts(st, i, "</td>")) {
		st->after_td = true;
		return i + 5;
	}
	if (starts(st, i, "<td") && st->after_td) {
		if (st->j > 0 && !blank((unsigned char)st->o[st->j - 1]))
			out(st, ' ');
		st->visible = false;
	} else {
		st->after_td = false;
		st->visible = true;
	}
	if (i + 1 >= st->n)
		return i; /* a final '<': text */
	c = at(st, i + 1);
	if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '/' ||
	        c == '!')) {
		/* no tag: copied with what follows, up to the next '<',
		 * which DSPAM then steps over */
		st->visible = true;
		out(st, '<');
		for (i++; st->j < st->n && i < st->n && at(st, i) != '<'; i++)
			out(st, at(st, i));
		return i + 1;
	}
	for (e = i + 1; e < st->n && at(st, e) != '<' && at(st, e) != '>'; e++)
		;
	tag(st, i, e);
	return at(st, e) == '>' ? e + 1 : e;
}

/* digits - n ASCII digits at i, their value in *v. */
static bool
digits(const struct strip *st, size_t i, size_t n, unsigned *v)
{
	size_t k;

	*v = 0;
	for (k = 0; k < n; k++) {
		unsigned char c = at(st, i + k);

		if (c < '0' || c > '9')
			return false;
		*v = *v * 10 + (unsigned)(c - '0');
	}
	return true;
}

/* numeric - "&#..." at i; returns the position of its last byte. */
static size_t
numeric(struct strip *st, size_t i)
{
	unsigned v;

	while (at(st, i + 2) == '0')
		i++;
	if (digits(st, i + 2, 2, &v) && at(st, i + 4) == ';') {
		if (v >= 32 && v <= 255)
			out(st, (unsigned char)v);
		return i + 4;
	}
	if (digits(st, i + 2, 4, &v) && at(st, i + 6) == ';') {
		if (v >= 32 && v <= 255)
			out(st, (unsigned char)v);
		return i + 6;
	}
	while (i < st->n && at(st, i) != ';' && at(st, i) != ' ' &&
	       at(st, i) != '\t')
		i++;
	return i;
}

/* named - a named entity at i: writes it, returns its last byte's
 * position; i when none matches. */
static size_t
named(struct strip *st, size_t i)
{
	unsigned char c = (unsigned char)tolower(at(st, i + 1));
	size_t k;

	for (k = 0; k < NELEM(entities); k++) {
		const char *t = entities[k].text;

		if ((unsigned char)tolower((unsigned char)t[1]) != c ||
		    !starts(st, i, t))
			continue;
		if (entities[k].code <= 255)
			out(st, (unsigned char)entities[k].code);
		st->visible = false;
		return i + strlen(t) - 1;
	}
	return i;
}

int
cls_dspam_html(const char *in, size_t n, struct es_buf *dst)
{
	struct strip st;
	unsigned char c;
	size_t i = 0, next;
	int rc;

	memset(&st, 0, sizeof(st));
	st.s = in;
	st.n = strnlen(in, n);
	st.cap = st.n + HTML_SLACK;
	st.visible = true;
	if ((st.o = es_malloc(st.cap)) == NULL)
		return ES_ENOMEM;
	while (i < st.n) {
		c = at(&st, i);
		if (c == '<') {
			next = lt(&st, i);
			if (next != i) {
				i = next;
				continue;
			}
		} else if (st.hiding != NULL) {
			i++;
			continue;
		} else if (!blank(c)) {
			st.visible = true;
		}
		if (c == '&' && at(&st, i + 1) == '#') {
			i = numeric(&st, i) + 1;
			st.visible = false;
			continue;
		}
		if (c == '&' && (next = named(&st, i)) != i) {
			if (st.j >= st.n)
				break;
			i = next + 1;
			continue;
		}
		if (st.j < st.n && st.visible)
			out(&st, c);
		if (st.j >= st.n)
			break;
		i++;
	}
	rc = es_buf_append(dst, st.o, st.j);
	es_free(st.o);
	return rc;
}
