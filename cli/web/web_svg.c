/*
 * web_svg.c - bar and line charts as inline SVG (see web_svg.h).
 *
 * Layout: a fixed 760x260 drawing, the plot area inside margins for the
 * axis labels, four grid lines, an x label about every seventh point,
 * the legend along the top. Bars of a day stand side by side; a line
 * breaks where a value is NaN (a day without mail has no accuracy).
 */
#include "web_svg.h"

#include <math.h>
#include <stdio.h>

#include "es_err.h"
#include "web_html.h"

#define W 760.0
#define H 260.0
#define LEFT 48.0
#define RIGHT 12.0
#define TOP 30.0
#define BOTTOM 36.0
#define PW (W - LEFT - RIGHT)
#define PH (H - TOP - BOTTOM)

double
web_svg_top(double max)
{
	double p = 1;

	if (!(max > 1))
		return 1;
	while (p < max / 10)
		p *= 10;
	/* smallest of 1p, 2p, 5p, 10p that holds max */
	if (p >= max)
		return p;
	if (2 * p >= max)
		return 2 * p;
	if (5 * p >= max)
		return 5 * p;
	return 10 * p;
}

/* axes - grid, y labels and x labels. */
static int
axes(struct es_buf *b, const struct web_svg_chart *c, double top)
{
	size_t step = c->npoints > 10 ? 7 : 1;
	double slot = PW / (double)c->npoints;
	int rc = 0;

	for (int i = 0; i <= 4 && rc == 0; i++) {
		double y = TOP + PH - PH * i / 4.0, v = top * i / 4.0;

		rc = es_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
		    "text-anchor=\"end\" font-size=\"11\">%g%s</text>\n",
		    LEFT, y, W - RIGHT, y, LEFT - 4, y + 4,
		    c->percent ? v * 100 : v, c->percent ? "%" : "");
	}
	for (size_t i = 0; i < c->npoints && rc == 0; i++) {
		/* the last point is today: label it, and every step back */
		if ((c->npoints - 1 - i) % step != 0)
			continue;
		rc = es_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" "
		    "text-anchor=\"middle\" font-size=\"11\">",
		    LEFT + slot * ((double)i + 0.5), H - BOTTOM + 16);
		if (rc == 0)
			rc = web_html_str(b, c->labels[i]);
		if (rc == 0)
			rc = es_buf_puts(b, "</text>");
	}
	return rc;
}

/* legend - a coloured square and the name of each series. */
static int
legend(struct es_buf *b, const struct web_svg_chart *c)
{
	double x = LEFT;
	int rc = 0;

	for (size_t s = 0; s < c->nseries && rc == 0; s++) {
		rc = es_buf_printf(b, "<rect x=\"%.1f\" y=\"8\" width=\"12\" "
		    "height=\"12\" fill=\"%s\"/><text x=\"%.1f\" y=\"18\" "
		    "font-size=\"12\">",
		    x, c->series[s].color, x + 16);
		if (rc == 0)
			rc = web_html_str(b, c->series[s].name);
		if (rc == 0)
			rc = es_buf_puts(b, "</text>");
		x += 150;
	}
	return rc;
}

/* bars - grouped bars, one group per point. */
static int
bars(struct es_buf *b, const struct web_svg_chart *c, double top)
{
	double slot = PW / (double)c->npoints;
	double bw = slot * 0.8 / (double)c->nseries;
	int rc = 0;

	for (size_t i = 0; i < c->npoints && rc == 0; i++)
		for (size_t s = 0; s < c->nseries && rc == 0; s++) {
			double v = c->series[s].v[i], h;

			if (!(v > 0))
				continue;
			h = PH * (v > top ? top : v) / top;
			rc = es_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" "
			    "width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
			    "<title>",
			    LEFT + slot * (double)i + slot * 0.1 + bw * (double)s,
			    TOP + PH - h, bw, h, c->series[s].color);
			if (rc == 0)
				rc = web_html_str(b, c->labels[i]);
			if (rc == 0)
				rc = es_buf_printf(b, ": %g</title></rect>", v);
		}
	return rc;
}

/* lines - one polyline per run of values, and a dot per value. */
static int
lines(struct es_buf *b, const struct web_svg_chart *c, double top)
{
	double slot = PW / (double)c->npoints;
	int rc = 0;

	for (size_t s = 0; s < c->nseries && rc == 0; s++) {
		bool open = false;

		for (size_t i = 0; i <= c->npoints && rc == 0; i++) {
			double v = i < c->npoints ? c->series[s].v[i] : NAN;
			double x = LEFT + slot * ((double)i + 0.5), y;

			if (isnan(v)) {
				if (open)
					rc = es_buf_puts(b, "\"/>");
				open = false;
				continue;
			}
			v = v < 0 ? 0 : v > top ? top : v;
			y = TOP + PH - PH * v / top;
			if (!open)
				rc = es_buf_printf(b, "<polyline fill=\"none\" "
				    "stroke=\"%s\" stroke-width=\"2\" points=\"",
				    c->series[s].color);
			if (rc == 0)
				rc = es_buf_printf(b, "%s%.1f,%.1f",
				    open ? " " : "", x, y);
			open = true;
		}
		for (size_t i = 0; i < c->npoints && rc == 0; i++) {
			double v = c->series[s].v[i];

			if (isnan(v))
				continue;
			v = v < 0 ? 0 : v > top ? top : v;
			rc = es_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" "
			    "r=\"2.5\" fill=\"%s\"><title>",
			    LEFT + slot * ((double)i + 0.5),
			    TOP + PH - PH * v / top, c->series[s].color);
			if (rc == 0)
				rc = web_html_str(b, c->labels[i]);
			if (rc == 0)
				rc = es_buf_printf(b, ": %.1f%s</title></circle>",
				    c->percent ? v * 100 : v,
				    c->percent ? "%" : "");
		}
	}
	return rc;
}

int
web_svg_chart(struct es_buf *b, const struct web_svg_chart *c)
{
	double max = 0, top;
	int rc;

	if (c->npoints == 0 || c->npoints > WEB_SVG_MAX_POINTS ||
	    c->nseries == 0 || c->nseries > WEB_SVG_MAX_SERIES)
		return ES_EINVAL;
	for (size_t s = 0; s < c->nseries; s++)
		for (size_t i = 0; i < c->npoints; i++)
			if (c->series[s].v[i] > max)
				max = c->series[s].v[i];
	top = c->percent ? 1 : web_svg_top(max);
	rc = es_buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "id=\"%s\" role=\"img\" width=\"%.0f\" height=\"%.0f\" "
	    "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\"><title>",
	    c->id, W, H, W, H);
	if (rc == 0)
		rc = web_html_str(b, c->title);
	if (rc == 0)
		rc = es_buf_puts(b, "</title>\n");
	if (rc == 0)
		rc = axes(b, c, top);
	if (rc == 0)
		rc = legend(b, c);
	if (rc == 0)
		rc = c->lines ? lines(b, c, top) : bars(b, c, top);
	if (rc == 0)
		rc = es_buf_puts(b, "</svg>\n");
	return rc;
}
