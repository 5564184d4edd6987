/* junit.c - test counts from pytest's JUnit XML and terminal summary.
 *
 * Both inputs are written by candidate code, so they are hostile. This is
 * deliberately a tiny scanner, not an XML parser: it looks only at the start
 * tags of <testsuite> (or, when there is none, <testsuites>) elements, skips
 * comments and CDATA sections (where a fake tag could hide), reads four
 * integer attributes and never reads past len. Numbers above FP_JUNIT_MAX
 * are rejected rather than trusted. */
#include "junit.h"

#include <stdbool.h>
#include <string.h>

#define FP_JUNIT_MAX 1000000000L /* one test suite never has 10^9 tests */

struct suite_sum {
	long tests, failures, errors, skipped;
	int n; /* elements seen */
};

/* memmem bounded by the end pointer; NULL when absent. */
static const char *find(const char *p, const char *end, const char *needle)
{
	size_t n = strlen(needle);
	if ((size_t)(end - p) < n)
		return NULL;
	return memmem(p, (size_t)(end - p), needle, n);
}

static bool starts(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses a decimal count (surrounding blanks allowed). */
static int parse_count(const char *p, const char *end, long *out)
{
	while (p < end && is_space(*p))
		p++;
	while (end > p && is_space(end[-1]))
		end--;
	if (p == end)
		return -1;
	long v = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v > FP_JUNIT_MAX)
			return -1;
	}
	*out = v;
	return 0;
}

static long *attr_slot(struct suite_sum *s, const char *name, size_t n)
{
	static const char *const names[] = {"tests", "failures", "errors", "skipped"};
	long *slots[] = {&s->tests, &s->failures, &s->errors, &s->skipped};
	for (size_t i = 0; i < 4; i++)
		if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
			return slots[i];
	return NULL;
}

/* Reads the attributes of one start tag beginning at p (just after the
 * element name) and adds the four counts to *sum. A tag without a tests
 * attribute is an error when |need_tests| (a <testsuite>), else ignored (a
 * bare <testsuites>, as pytest writes it). Returns the position after '>'
 * or NULL (with err set) when the tag is malformed or truncated. */
static const char *read_suite_tag(const char *p, const char *end, bool need_tests,
                                  struct suite_sum *sum, struct fp_err *err)
{
	struct suite_sum one = {0};
	bool have_tests = false;
	for (;;) {
		while (p < end && is_space(*p))
			p++;
		if (p >= end)
			return fp_errf(err, "junit xml is truncated inside a testsuite tag"), NULL;
		if (*p == '>' || *p == '/')
			break;
		const char *name = p;
		while (p < end && *p != '=' && *p != '>' && !is_space(*p))
			p++;
		size_t name_len = (size_t)(p - name);
		while (p < end && is_space(*p))
			p++;
		if (p >= end)
			return fp_errf(err, "junit xml is truncated inside a testsuite tag"), NULL;
		if (*p != '=')
			return fp_errf(err, "junit xml has a malformed testsuite attribute"), NULL;
		p++;
		while (p < end && is_space(*p))
			p++;
		if (p >= end || (*p != '"' && *p != '\''))
			return fp_errf(err, "junit xml has an unquoted testsuite attribute"), NULL;
		char q = *p++;
		const char *val = p;
		const char *close = memchr(p, q, (size_t)(end - p));
		if (!close)
			return fp_errf(err, "junit xml is truncated inside a testsuite tag"), NULL;
		p = close + 1;
		long *slot = attr_slot(&one, name, name_len);
		if (!slot)
			continue;
		if (parse_count(val, close, slot) < 0)
			return fp_errf(err, "junit xml attribute %.*s=\"%.*s\" is not a count "
			               "between 0 and %ld", (int)(name_len > 20 ? 20 : name_len), name,
			               (int)(close - val > 20 ? 20 : close - val), val,
			               FP_JUNIT_MAX), NULL;
		if (slot == &one.tests)
			have_tests = true;
	}
	const char *gt = memchr(p, '>', (size_t)(end - p));
	if (!gt)
		return fp_errf(err, "junit xml is truncated inside a testsuite tag"), NULL;
	if (!have_tests && need_tests)
		return fp_errf(err, "junit xml testsuite has no tests attribute"), NULL;
	if (!have_tests)
		return gt + 1;
	/* Each term is <= 10^9 and a 16 MiB file holds < 10^6 tags: no overflow. */
	sum->tests += one.tests;
	sum->failures += one.failures;
	sum->errors += one.errors;
	sum->skipped += one.skipped;
	sum->n++;
	return gt + 1;
}

/* Is there an element named |name| at p ("<name" then a delimiter)? */
static bool tag_named(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);
	if ((size_t)(end - p) <= n || memcmp(p, name, n) != 0)
		return false;
	char c = p[n];
	return is_space(c) || c == '>' || c == '/';
}

static void counts_from(const struct suite_sum *s, struct fp_test_counts *out)
{
	long passed = s->tests - s->failures - s->errors - s->skipped;
	out->passed = passed < 0 ? 0 : passed;
	out->failed = s->failures;
	out->errors = s->errors;
	out->skipped = s->skipped;
}

int fp_junit_parse(const char *xml, size_t len, struct fp_test_counts *out,
                   struct fp_err *err)
{
	struct suite_sum suites = {0}, outer = {0};
	const char *p = xml, *end = xml + len;
	out->passed = out->failed = out->errors = out->skipped = -1;
	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		const char *skip_to = NULL;
		if (starts(p, end, "<!--"))
			skip_to = "-->";
		else if (starts(p, end, "<![CDATA["))
			skip_to = "]]>";
		if (skip_to) {
			const char *e = find(p, end, skip_to);
			if (!e)
				break;
			p = e + strlen(skip_to);
		} else if (tag_named(p, end, "<testsuite")) {
			p = read_suite_tag(p + strlen("<testsuite"), end, true, &suites, err);
		} else if (tag_named(p, end, "<testsuites")) {
			p = read_suite_tag(p + strlen("<testsuites"), end, false, &outer, err);
		} else {
			p++;
		}
		if (!p)
			return -1;
	}
	if (suites.n == 0 && outer.n == 0)
		return fp_errf(err, "junit xml has no testsuite element");
	counts_from(suites.n ? &suites : &outer, out);
	return 0;
}

/* ---- pytest terminal summary ------------------------------------------ */

struct word_map {
	const char *word;
	int slot; /* 0 passed, 1 failed, 2 errors, 3 skipped, -1 ignored */
};

/* Every word pytest puts in its summary; xfailed counts as skipped and
 * xpassed as passed, as in pytest's own JUnit output. */
static const struct word_map summary_words[] = {
	{"passed", 0}, {"failed", 1}, {"error", 2}, {"errors", 2},
	{"skipped", 3}, {"xfailed", 3}, {"xpassed", 0}, {"deselected", -1},
	{"warning", -1}, {"warnings", -1}, {"rerun", -1},
};

/* "<n> <word>": adds n to the slot of word. p..end is one item. */
static int summary_item(const char *p, const char *end, long c[4])
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	long n;
	if (!sp || parse_count(p, sp, &n) < 0)
		return -1;
	size_t wl = (size_t)(end - sp - 1);
	for (size_t i = 0; i < sizeof summary_words / sizeof summary_words[0]; i++) {
		const struct word_map *w = &summary_words[i];
		if (strlen(w->word) == wl && memcmp(w->word, sp + 1, wl) == 0) {
			if (w->slot >= 0)
				c[w->slot] += n;
			return 0;
		}
	}
	return -1;
}

/* Checks "<digits>[.digits]s..." or "<digits> seconds" after " in ". */
static bool duration_ok(const char *p, const char *end)
{
	const char *d = p;
	while (p < end && ((*p >= '0' && *p <= '9') || *p == '.'))
		p++;
	return p > d && p < end && (*p == 's' || (*p == ' ' && starts(p, end, " seconds")));
}

/* One summary line, '=' framing and blanks already stripped. */
static int summary_line(const char *p, const char *end, struct fp_test_counts *out)
{
	const char *in = NULL;
	for (const char *q = p; (q = find(q, end, " in ")) != NULL; q++)
		in = q; /* the last " in " precedes the duration */
	if (!in || !duration_ok(in + 4, end))
		return -1;
	long c[4] = {0};
	if (!(in - p == 12 && memcmp(p, "no tests ran", 12) == 0)) {
		while (p < in) {
			const char *comma = memchr(p, ',', (size_t)(in - p));
			const char *item_end = comma ? comma : in;
			if (summary_item(p, item_end, c) < 0)
				return -1;
			p = comma ? comma + 2 : in;
			if (comma && (comma + 1 >= in || comma[1] != ' '))
				return -1;
		}
	}
	out->passed = c[0];
	out->failed = c[1];
	out->errors = c[2];
	out->skipped = c[3];
	return 0;
}

int fp_pytest_summary_parse(const char *text, size_t len,
                            struct fp_test_counts *out, struct fp_err *err)
{
	const char *end = text + len;
	bool found = false;
	struct fp_test_counts c;
	out->passed = out->failed = out->errors = out->skipped = -1;
	for (const char *line = text; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;
		const char *a = line, *b = le;
		while (a < b && (*a == '=' || is_space(*a)))
			a++;
		while (b > a && (b[-1] == '=' || is_space(b[-1])))
			b--;
		/* Keep the last match: earlier ones may be from nested runs. */
		if (b - a < 4096 && summary_line(a, b, &c) == 0) {
			*out = c;
			found = true;
		}
		line = nl ? nl + 1 : end;
	}
	if (!found)
		return fp_errf(err, "no pytest summary line found in the output");
	return 0;
}
