/* report.h - report.html: one self-contained page (inline CSS and SVG, no
 * script, no network) from a results.json of run, eval, batch or merge.
 * Every string taken from results is HTML-escaped: candidate output is
 * hostile (a reason may well be "<script>..."). */
#ifndef FP_REPORT_H
#define FP_REPORT_H

#include <cjson/cJSON.h>
#include "util.h"

/* Largest results.json read and largest page written. */
#define FP_REPORT_IN_MAX (64u << 20)
#define FP_REPORT_OUT_MAX (64u << 20)

/* Reads <out_dir>/results.json and writes <out_dir>/report.html
 * atomically. */
int fp_report_write(const char *out_dir, struct fp_err *err);

/* The page for a parsed results object (not taken), appended to |html|. */
int fp_report_html(const cJSON *results, struct fp_buf *html,
                   struct fp_err *err);

#endif
