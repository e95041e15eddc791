/*
 * cli_json.c - the one JSON string writer of the edgespam command.
 *
 * cli_json_str() writes a string as JSON: '"' and '\' escaped, the
 * controls and DEL as \u sequences, every other byte as it is (the
 * caller passes valid UTF-8). cli_json_html() escapes as well '<', '>',
 * '&', U+2028 and U+2029, so the text is also safe inside HTML or a
 * script: for text that comes from mail (history rows).
 * No state; each call writes one string to f.
 */
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"

static void
json_write(FILE *f, const char *s, bool html)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else if (html && (ch == '<' || ch == '>' || ch == '&'))
			fprintf(f, "\\u%04x", ch);
		else if (html && ch == 0xe2 && (unsigned char)s[1] == 0x80 &&
		    ((unsigned char)s[2] == 0xa8 ||
			(unsigned char)s[2] == 0xa9)) {
			/* U+2028, U+2029: line ends to JavaScript */
			fprintf(f, "\\u%04x", 0x2000 + (unsigned char)s[2] - 0x80);
			s += 2;
		} else
			fputc(ch, f);
	}
	fputc('"', f);
}

void
cli_json_str(FILE *f, const char *s)
{
	json_write(f, s, false);
}

void
cli_json_html(FILE *f, const char *s)
{
	json_write(f, s, true);
}
