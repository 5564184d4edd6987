/* report.c - report.html from results.json (run, eval, batch, merge).
 *
 * One self-contained file: inline CSS and SVG, no script, no external
 * resource, and a Content-Security-Policy that forbids both, so even a
 * mistake in escaping could not run anything or reach the network. Every
 * string from results goes through esc(): candidate output is hostile.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define BAR_H 20        /* timeline row height, px */
#define LABEL_W 150     /* timeline label column, px */
#define PLOT_W 760      /* timeline plot width, px */

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
	"h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}"
	"table{border-collapse:collapse}th,td{border:1px solid #ccc;"
	"padding:3px 8px;text-align:left;vertical-align:top}"
	"th{background:#f2f2f2}td.num,td:first-child{white-space:nowrap}td.num{text-align:right}"
	"dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}"
	"dt{font-weight:600}dd{margin:0}"
	"pre.goal{white-space:pre-wrap;max-height:8em;overflow:auto;"
	"background:#f7f7f7;padding:6px;border:1px solid #ddd}"
	".passed{color:#146c2e;font-weight:600}.failed,.error,.timeout,"
	".invalid{color:#a51d2d}.cancelled{color:#777}"
	"tr.winner{background:#e6f4ea}.reason{max-width:40em;word-break:break-word}"
	".legend span{display:inline-block;margin-right:12px}"
	".legend i{display:inline-block;width:12px;height:12px;margin-right:4px;"
	"vertical-align:middle}";

/* Phase colours of the timeline (validate, start, probe, test). */
static const char *const phase_names[] = { "validate", "start", "probe", "test" };
static const char *const phase_colors[] = { "#9aa0a6", "#4285f4", "#fbbc04",
                                            "#34a853" };

/* ---- output helpers ----------------------------------------------------- */

static double dmax(double a, double b)
{
	return a > b ? a : b;
}

static void esc(struct fp_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fp_buf_append(b, "&amp;", 5); break;
		case '<': fp_buf_append(b, "&lt;", 4); break;
		case '>': fp_buf_append(b, "&gt;", 4); break;
		case '"': fp_buf_append(b, "&quot;", 6); break;
		case '\'': fp_buf_append(b, "&#39;", 5); break;
		default: fp_buf_append(b, s, 1); break;
		}
	}
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jhas_num(const cJSON *o, const char *k, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(v))
		return false;
	*out = v->valuedouble;
	return true;
}

static void secs(struct fp_buf *b, double ms)
{
	if (ms < 10000)
		fp_buf_printf(b, "%.2f s", ms / 1000);
	else
		fp_buf_printf(b, "%.1f s", ms / 1000);
}

/* A number field in ms as seconds, or an em dash. */
static void secs_or_dash(struct fp_buf *b, const cJSON *o, const char *k)
{
	double v;
	if (jhas_num(o, k, &v))
		secs(b, v);
	else
		fp_buf_printf(b, "&#8212;");
}

static void dl_row(struct fp_buf *b, const char *name, const char *value)
{
	fp_buf_printf(b, "<dt>%s</dt><dd>", name);
	if (value)
		esc(b, value);
	else
		fp_buf_printf(b, "&#8212;");
	fp_buf_printf(b, "</dd>\n");
}

static void page_head(struct fp_buf *b, const char *title)
{
	fp_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	              "<meta charset=\"utf-8\">"
	              "<meta http-equiv=\"Content-Security-Policy\" content=\""
	              "default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
	              "<meta name=\"viewport\" content=\"width=device-width\">"
	              "<title>%s</title><style>%s</style></head><body>\n"
	              "<h1>%s</h1>\n", title, css, title);
}

/* ---- run / eval --------------------------------------------------------- */

static void run_summary(struct fp_buf *b, const cJSON *r)
{
	const char *w = jstr(r, "winner");
	char n[64];
	double v;
	fp_buf_printf(b, "<section id=\"summary\"><h2>Summary</h2><dl>\n");
	fp_buf_printf(b, "<dt>result</dt><dd id=\"result\" class=\"%s\">%s</dd>\n",
	              w ? "passed" : "failed", w ? "PASS" : "NO PASS");
	dl_row(b, "winner", w);
	fp_buf_printf(b, "<dt>time to first pass</dt><dd>");
	secs_or_dash(b, r, "time_to_first_pass_ms");
	fp_buf_printf(b, "</dd><dt>cancellation latency</dt><dd>");
	if (jhas_num(r, "cancel_latency_ms", &v))
		fp_buf_printf(b, "%.0f ms", v);
	else
		fp_buf_printf(b, "&#8212;");
	fp_buf_printf(b, "</dd><dt>wall time</dt><dd>");
	secs_or_dash(b, r, "wall_ms");
	fp_buf_printf(b, "</dd>\n");
	snprintf(n, sizeof n, "%d in %d round(s)",
	         cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "candidates")),
	         cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "rounds")));
	dl_row(b, "candidates", n);
	dl_row(b, "generator", jstr(r, "generator"));
	dl_row(b, "policy", jstr(r, "policy"));
	dl_row(b, "started", jstr(r, "started"));
	fp_buf_printf(b, "</dl>\n");
	if (jstr(r, "goal")) {
		fp_buf_printf(b, "<h2>Goal</h2><pre class=\"goal\">");
		esc(b, jstr(r, "goal"));
		fp_buf_printf(b, "</pre>\n");
	}
	fp_buf_printf(b, "</section>\n");
}

static void count_cell(struct fp_buf *b, const cJSON *tests, const char *k)
{
	double v;
	if (jhas_num(tests, k, &v))
		fp_buf_printf(b, "<td class=\"num\">%.0f</td>", v);
	else
		fp_buf_printf(b, "<td class=\"num\">&#8212;</td>");
}

static void cand_row(struct fp_buf *b, const cJSON *c, const char *winner)
{
	const char *id = jstr(c, "id"), *v = jstr(c, "verdict");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "tests");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(c, "resources");
	double x, added = 0, done = 0;
	bool win = id && winner && !strcmp(id, winner);
	fp_buf_printf(b, "<tr class=\"cand%s\" data-id=\"", win ? " winner" : "");
	esc(b, id);
	fp_buf_printf(b, "\" data-verdict=\"");
	esc(b, v);
	fp_buf_printf(b, "\"><td>");
	esc(b, id);
	fp_buf_printf(b, "%s</td><td class=\"num\">%.0f</td><td class=\"", win ?
	              " &#9733;" : "", jhas_num(c, "round", &x) ? x : 0);
	esc(b, v);
	fp_buf_printf(b, "\">");
	esc(b, v);
	fp_buf_printf(b, "</td><td class=\"reason\">");
	esc(b, jstr(c, "reason"));
	fp_buf_printf(b, "</td>");
	count_cell(b, t, "passed");
	count_cell(b, t, "failed");
	count_cell(b, t, "errors");
	count_cell(b, t, "skipped");
	fp_buf_printf(b, "<td class=\"num\">");
	if (jhas_num(c, "added_ms", &added) && jhas_num(c, "done_ms", &done))
		secs(b, done - added);
	else
		fp_buf_printf(b, "&#8212;");
	fp_buf_printf(b, "</td><td class=\"num\">%.2f s</td><td class=\"num\">"
	              "%.1f MiB</td></tr>\n",
	              jhas_num(res, "cpu_ms", &x) ? x / 1000 : 0,
	              jhas_num(res, "max_rss_kb", &x) ? x / 1024 : 0);
}

static void cand_table(struct fp_buf *b, const cJSON *r)
{
	const cJSON *c;
	const char *w = jstr(r, "winner");
	fp_buf_printf(b, "<section><h2>Candidates</h2><table id=\"candidates\">"
	              "<thead><tr><th>id</th><th>round</th><th>verdict</th>"
	              "<th>reason</th><th>passed</th><th>failed</th>"
	              "<th>errors</th><th>skipped</th><th>wall</th><th>CPU</th>"
	              "<th>peak memory</th></tr></thead><tbody>\n");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(r, "candidates"))
		cand_row(b, c, w);
	fp_buf_printf(b, "</tbody></table></section>\n");
}

/* A tick step of 1, 2 or 5 times a power of ten giving at most 10 ticks. */
static double tick_step_ms(double span_ms)
{
	static const double mult[] = { 1, 2, 5 };
	double decade = 100;
	for (int e = 0; e < 12; e++) {
		for (int i = 0; i < 3; i++)
			if (span_ms / (decade * mult[i]) <= 10)
				return decade * mult[i];
		decade *= 10;
	}
	return decade;
}

static void axis(struct fp_buf *b, double span_ms, int y)
{
	double step = tick_step_ms(span_ms);
	fp_buf_printf(b, "<g class=\"axis\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
	              "y2=\"%d\" stroke=\"#555\"/>", LABEL_W, y, LABEL_W + PLOT_W, y);
	for (int i = 0; i * step <= span_ms + 1e-6; i++) {
		double t = i * step, x = LABEL_W + t / span_ms * PLOT_W;
		fp_buf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		              "stroke=\"#555\"/><text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
		              "text-anchor=\"middle\">%g s</text>", x, y, x, y + 5, x,
		              y + 17, t / 1000);
	}
	fp_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor="
	              "\"end\">seconds</text></g>\n", LABEL_W + PLOT_W, y + 32);
}

static void bar(struct fp_buf *b, const cJSON *c, int row, double span_ms,
                const char *winner)
{
	const char *id = jstr(c, "id"), *v = jstr(c, "verdict");
	const cJSON *ph = cJSON_GetObjectItemCaseSensitive(c, "phases");
	bool win = id && winner && !strcmp(id, winner);
	bool cancelled = v && !strcmp(v, "cancelled");
	double added = 0, done = 0, k = PLOT_W / span_ms;
	int y = 10 + row * (BAR_H + 6);
	jhas_num(c, "added_ms", &added);
	if (!jhas_num(c, "done_ms", &done))
		done = added;
	fp_buf_printf(b, "<g class=\"bar%s%s\" data-id=\"", win ? " winner" : "",
	              cancelled ? " cancelled" : "");
	esc(b, id);
	fp_buf_printf(b, "\" data-verdict=\"");
	esc(b, v);
	fp_buf_printf(b, "\"><title>");
	esc(b, id);
	fp_buf_printf(b, ": ");
	esc(b, v);
	fp_buf_printf(b, " &#8212; ");
	esc(b, jstr(c, "reason"));
	fp_buf_printf(b, "</title><text x=\"%d\" y=\"%d\" font-size=\"12\" "
	              "text-anchor=\"end\"%s>", LABEL_W - 6, y + 14,
	              win ? " font-weight=\"bold\"" : "");
	esc(b, id);
	fp_buf_printf(b, "%s</text><rect class=\"span\" x=\"%.1f\" y=\"%d\" "
	              "width=\"%.1f\" height=\"%d\" fill=\"#eee\"/>", win ? " \xe2\x98\x85" : "",
	              LABEL_W + added * k, y + BAR_H / 2 - 1,
	              dmax(1, (done - added) * k), 2);
	for (int i = 0; i < 4; i++) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(ph, phase_names[i]);
		double s, w;
		if (!jhas_num(p, "started_ms", &s) || !jhas_num(p, "wall_ms", &w))
			continue;
		fp_buf_printf(b, "<rect class=\"ph-%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\""
		              " height=\"%d\" fill=\"%s\"%s/>", phase_names[i],
		              LABEL_W + s * k, y, dmax(1, w * k), BAR_H, phase_colors[i],
		              cancelled ? " fill-opacity=\"0.35\"" : "");
	}
	if (cancelled)
		fp_buf_printf(b, "<rect class=\"hatch\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
		              "height=\"%d\" fill=\"url(#hatch)\"/>", LABEL_W + added * k,
		              y, dmax(1, (done - added) * k), BAR_H);
	if (win)
		fp_buf_printf(b, "<rect class=\"win-mark\" x=\"%.1f\" y=\"%d\" width=\"%.1f\""
		              " height=\"%d\" fill=\"none\" stroke=\"#0b6623\" "
		              "stroke-width=\"2\"/>", LABEL_W + added * k, y - 1,
		              dmax(1, (done - added) * k), BAR_H + 2);
	fp_buf_printf(b, "</g>\n");
}

static double timeline_span(const cJSON *r)
{
	double span = 0, v;
	const cJSON *c;
	if (jhas_num(r, "wall_ms", &v))
		span = v;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(r, "candidates"))
		if (jhas_num(c, "done_ms", &v) && v > span)
			span = v;
	return span < 100 ? 100 : span;
}

static void timeline(struct fp_buf *b, const cJSON *r)
{
	const cJSON *cands = cJSON_GetObjectItemCaseSensitive(r, "candidates"), *c;
	int n = cJSON_GetArraySize(cands), row = 0;
	double span = timeline_span(r);
	int h = 10 + n * (BAR_H + 6) + 40;
	fp_buf_printf(b, "<section><h2>Timeline</h2><p class=\"legend\">");
	for (int i = 0; i < 4; i++)
		fp_buf_printf(b, "<span><i style=\"background:%s\"></i>%s</span>",
		              phase_colors[i], phase_names[i]);
	fp_buf_printf(b, "<span>&#9733; winner (outlined)</span><span>hatched: "
	              "cancelled</span></p>\n<svg id=\"timeline\" "
	              "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	              "viewBox=\"0 0 %d %d\" role=\"img\"><defs><pattern id=\"hatch\" "
	              "width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
	              "patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\""
	              " y2=\"6\" stroke=\"#555\" stroke-width=\"2\"/></pattern></defs>\n",
	              LABEL_W + PLOT_W + 20, h, LABEL_W + PLOT_W + 20, h);
	cJSON_ArrayForEach(c, cands)
		bar(b, c, row++, span, jstr(r, "winner"));
	axis(b, span, 10 + n * (BAR_H + 6));
	fp_buf_printf(b, "</svg></section>\n");
}

static void run_page(struct fp_buf *b, const cJSON *r)
{
	const char *cmd = jstr(r, "command");
	page_head(b, cmd && !strcmp(cmd, "eval") ? "firstpass eval" : "firstpass run");
	run_summary(b, r);
	cand_table(b, r);
	timeline(b, r);
	fp_buf_printf(b, "</body></html>\n");
}

/* ---- batch / merge ------------------------------------------------------ */

static void pct(struct fp_buf *b, const cJSON *o, const char *k)
{
	double v;
	if (jhas_num(o, k, &v))
		fp_buf_printf(b, "%.1f%%", 100 * v);
	else
		fp_buf_printf(b, "&#8212;");
}

static void batch_summary(struct fp_buf *b, const cJSON *r)
{
	double done = 0, total = 0, passed = 0;
	jhas_num(r, "tasks_done", &done);
	jhas_num(r, "tasks_total", &total);
	jhas_num(r, "tasks_passed", &passed);
	fp_buf_printf(b, "<section id=\"summary\"><h2>Summary</h2><dl>\n");
	dl_row(b, "tasks file", jstr(r, "tasks_file"));
	dl_row(b, "shard", jstr(r, "shard"));
	fp_buf_printf(b, "<dt>tasks</dt><dd id=\"tasks-done\">%.0f of %.0f done%s"
	              "</dd>\n<dt>passed</dt><dd>%.0f</dd><dt>pass rate</dt>"
	              "<dd id=\"pass-rate\">", done, total,
	              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "complete")) ?
	              "" : " (incomplete)", passed);
	pct(b, r, "pass_rate");
	fp_buf_printf(b, "</dd><dt>median time to first pass</dt><dd>");
	secs_or_dash(b, r, "time_to_first_pass_median_ms");
	fp_buf_printf(b, "</dd></dl></section>\n");
}

/* Horizontal bars: overall, then per generator and per policy. */
static void rate_bar(struct fp_buf *b, int row, const char *label,
                     double rate, double n)
{
	int y = 8 + row * 24;
	fp_buf_printf(b, "<g class=\"rate\"><text x=\"%d\" y=\"%d\" font-size=\"12\""
	              " text-anchor=\"end\">", LABEL_W + 100, y + 13);
	esc(b, label);
	fp_buf_printf(b, "</text><rect x=\"%d\" y=\"%d\" width=\"400\" height=\"16\" "
	              "fill=\"#eee\"/><rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
	              "height=\"16\" fill=\"#34a853\"/><text x=\"%d\" y=\"%d\" "
	              "font-size=\"12\">%.1f%% of %.0f</text></g>\n", LABEL_W + 106,
	              y, LABEL_W + 106, y, 400 * rate, LABEL_W + 512, y + 13,
	              100 * rate, n);
}

static int rate_group(struct fp_buf *b, const cJSON *g, const char *what,
                      int row)
{
	char label[160];
	const cJSON *e;
	cJSON_ArrayForEach(e, g) {
		double t = 0, p = 0;
		jhas_num(e, "tasks", &t);
		jhas_num(e, "pass_rate", &p);
		snprintf(label, sizeof label, "%s %.120s", what, e->string);
		rate_bar(b, row++, label, p, t);
	}
	return row;
}

static void rate_chart(struct fp_buf *b, const cJSON *r)
{
	const cJSON *bg = cJSON_GetObjectItemCaseSensitive(r, "by_generator");
	const cJSON *bp = cJSON_GetObjectItemCaseSensitive(r, "by_policy");
	int rows = 1 + cJSON_GetArraySize(bg) + cJSON_GetArraySize(bp), row = 0;
	double rate = 0, done = 0;
	jhas_num(r, "pass_rate", &rate);
	jhas_num(r, "tasks_done", &done);
	fp_buf_printf(b, "<section><h2>Pass rates</h2><svg id=\"pass-rates\" "
	              "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">\n",
	              LABEL_W + 620, 16 + rows * 24);
	rate_bar(b, row++, "overall", rate, done);
	row = rate_group(b, bg, "generator", row);
	rate_group(b, bp, "policy", row);
	fp_buf_printf(b, "</svg></section>\n");
}

static void task_row(struct fp_buf *b, const cJSON *t)
{
	const char *id = jstr(t, "id"), *dir = jstr(t, "dir"), *w = jstr(t, "winner");
	bool pass = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "pass"));
	double v;
	fp_buf_printf(b, "<tr class=\"task\" data-id=\"");
	esc(b, id);
	fp_buf_printf(b, "\" data-verdict=\"%s\"><td>", pass ? "passed" : "failed");
	if (dir) {
		fp_buf_printf(b, "<a href=\"");
		esc(b, dir);
		fp_buf_printf(b, "/report.html\">");
	}
	esc(b, id);
	fp_buf_printf(b, "%s</td><td class=\"num\">%.0f</td><td>", dir ? "</a>" : "",
	              jhas_num(t, "line", &v) ? v : 0);
	esc(b, jstr(t, "command"));
	fp_buf_printf(b, "</td><td class=\"%s\">%s</td><td>", pass ? "passed" : "failed",
	              pass ? "passed" : "no pass");
	esc(b, w ? w : "\xe2\x80\x94");
	fp_buf_printf(b, "</td><td class=\"num\">%.0f</td><td class=\"num\">",
	              jhas_num(t, "candidates", &v) ? v : 0);
	secs_or_dash(b, t, "time_to_first_pass_ms");
	fp_buf_printf(b, "</td><td class=\"num\">");
	secs_or_dash(b, t, "wall_ms");
	fp_buf_printf(b, "</td><td>");
	esc(b, jstr(t, "generator"));
	fp_buf_printf(b, "</td><td>");
	esc(b, jstr(t, "policy"));
	fp_buf_printf(b, "</td></tr>\n");
}

static void batch_page(struct fp_buf *b, const cJSON *r)
{
	const cJSON *t;
	const char *cmd = jstr(r, "command");
	page_head(b, cmd && !strcmp(cmd, "merge") ? "firstpass batch (merged)" :
	          "firstpass batch");
	batch_summary(b, r);
	rate_chart(b, r);
	fp_buf_printf(b, "<section><h2>Tasks</h2><table id=\"tasks\"><thead><tr>"
	              "<th>task</th><th>line</th><th>command</th><th>verdict</th>"
	              "<th>winner</th><th>candidates</th><th>time to first pass</th>"
	              "<th>wall</th><th>generator</th><th>policy</th></tr></thead>"
	              "<tbody>\n");
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(r, "tasks"))
		task_row(b, t);
	fp_buf_printf(b, "</tbody></table></section></body></html>\n");
}

/* ---- entry points ------------------------------------------------------- */

int fp_report_html(const cJSON *results, struct fp_buf *html,
                   struct fp_err *err)
{
	const char *cmd = jstr(results, "command");
	if (!cJSON_IsObject(results) || !cmd)
		return fp_errf(err, "results have no 'command'");
	if (!strcmp(cmd, "batch") || !strcmp(cmd, "merge"))
		batch_page(html, results);
	else
		run_page(html, results);
	if (html->truncated)
		return fp_errf(err, "report larger than %zu bytes", html->cap);
	return 0;
}

int fp_report_write(const char *out_dir, struct fp_err *err)
{
	char path[PATH_MAX], *text;
	size_t len;
	if (snprintf(path, sizeof path, "%s/results.json", out_dir) >= (int)sizeof path)
		return fp_errf(err, "path too long: '%s'", out_dir);
	if (fp_read_file(path, FP_REPORT_IN_MAX, &text, &len, err) < 0)
		return -1;
	cJSON *r = cJSON_ParseWithLength(text, len);
	free(text);
	if (!r)
		return fp_errf(err, "'%s' is not valid JSON", path);
	struct fp_buf html;
	fp_buf_init(&html, FP_REPORT_OUT_MAX);
	int rc = fp_report_html(r, &html, err);
	cJSON_Delete(r);
	snprintf(path, sizeof path, "%s/report.html", out_dir);
	if (rc == 0)
		rc = fp_write_file_atomic(path, html.data, html.len, err);
	fp_buf_free(&html);
	return rc;
}
