/*
 * web_svg.h - plots drawn on the server as inline SVG: no script, no
 * external font or file, nothing for the Content-Security-Policy to
 * allow. Bars (counts per day) or lines (a ratio per day).
 *
 * Labels and names are escaped (web_html_text); numbers are written by
 * the program. No I/O, no state; thread-safe.
 */
#ifndef WEB_SVG_H
#define WEB_SVG_H

#include <stdbool.h>
#include <stddef.h>

#include "es_buf.h"

#define WEB_SVG_MAX_POINTS 366
#define WEB_SVG_MAX_SERIES 6

struct web_svg_series {
	const char *name;  /* legend text */
	const char *color; /* an SVG colour the program chose ("#c33") */
	const double *v;   /* npoints values; NaN: no value that day */
};

struct web_svg_chart {
	const char *id;            /* element id (program text) */
	const char *title;
	bool lines;                /* lines instead of grouped bars */
	bool percent;              /* values are 0..1, shown as 0-100 % */
	size_t npoints;            /* 1..WEB_SVG_MAX_POINTS */
	const char *const *labels; /* npoints x-axis labels (every few shown) */
	size_t nseries;            /* 1..WEB_SVG_MAX_SERIES */
	const struct web_svg_series *series;
};

/*
 * web_svg_chart - append c as an <svg> element to b. Returns 0,
 * ES_EINVAL for a chart out of the limits above, or es_buf's error.
 */
int web_svg_chart(struct es_buf *b, const struct web_svg_chart *c);

/* web_svg_top - the top of a count axis for max: 1, 2 or 5 times a power
 * of ten, at least max and at least 1 (exposed for tests). */
double web_svg_top(double max);

#endif
