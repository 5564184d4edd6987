/* test_junit.c - JUnit XML and pytest summary counts, real and hostile.
 *
 * The pytest_* fixtures are real pytest 7.2 output, produced from
 * tests/fixtures/junit/src*: for example
 *   cd tests/fixtures/junit && /usr/bin/python3 -m pytest -p no:cacheprovider \
 *       --junitxml=pytest_mix.xml src/test_mix.py > pytest_mix.txt
 * (hostname replaced by "host"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "junit.h"
#include "util.h"

static char *fixture(const char *name, size_t *len)
{
	char path[1024];
	char *data = NULL;
	struct fp_err err;
	snprintf(path, sizeof path, "%s/junit/%s", FP_FIXTURES, name);
	if (fp_read_file(path, 1 << 20, &data, len, &err) < 0)
		fail_msg("%s", err.msg);
	return data;
}

#define OK(p, f, e, s) {(p), (f), (e), (s), NULL}
#define BAD(msg) {-1, -1, -1, -1, (msg)}

struct expect {
	long passed, failed, errors, skipped;
	const char *err; /* substring of the error, NULL when parsing succeeds */
};

static void check(int rc, const struct fp_test_counts *c, const struct fp_err *err,
                  const struct expect *e, const char *what)
{
	if (e->err) {
		if (rc != -1)
			fail_msg("%s: expected an error containing '%s'", what, e->err);
		if (!strstr(err->msg, e->err))
			fail_msg("%s: error '%s' lacks '%s'", what, err->msg, e->err);
		assert_int_equal(c->passed, -1);
		return;
	}
	if (rc != 0)
		fail_msg("%s: unexpected error '%s'", what, err->msg);
	if (c->passed != e->passed || c->failed != e->failed ||
	    c->errors != e->errors || c->skipped != e->skipped)
		fail_msg("%s: got passed=%ld failed=%ld errors=%ld skipped=%ld", what,
		         c->passed, c->failed, c->errors, c->skipped);
}

static const struct {
	const char *file;
	struct expect e;
} xml_cases[] = {
	/* tests=7 errors=1 failures=1 skipped=2 (skip + xfail) */
	{"pytest_mix.xml", OK(3, 1, 1, 2)},
	{"pytest_collect_error.xml", OK(0, 0, 1, 0)},
	{"multi_quotes.xml", OK(5, 1, 1, 1)},
	{"testsuites_only.xml", OK(2, 1, 0, 1)},
	{"hostile_wrong_tags.xml", OK(1, 1, 0, 0)},
	{"hostile_more_failures_than_tests.xml", OK(0, 5, 0, 0)},
	{"hostile_truncated.xml", BAD("truncated")},
	{"hostile_huge.xml", BAD("is not a count")},
	{"hostile_over_cap.xml", BAD("is not a count")},
	{"hostile_negative.xml", BAD("is not a count")},
	{"hostile_no_suite.xml", BAD("no testsuite element")},
	{"hostile_no_tests_attr.xml", BAD("no tests attribute")},
	{"hostile_unquoted.xml", BAD("unquoted")},
	{"pytest_mix.txt", BAD("no testsuite element")},
};

static void test_junit_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof xml_cases / sizeof xml_cases[0]; i++) {
		size_t len;
		char *xml = fixture(xml_cases[i].file, &len);
		struct fp_test_counts c;
		struct fp_err err = {{0}};
		int rc = fp_junit_parse(xml, len, &c, &err);
		check(rc, &c, &err, &xml_cases[i].e, xml_cases[i].file);
		free(xml);
	}
}

static void test_junit_empty(void **state)
{
	(void)state;
	struct fp_test_counts c;
	struct fp_err err;
	assert_int_equal(fp_junit_parse("", 0, &c, &err), -1);
	/* len is honoured: the suite after len must not be seen */
	const char *s = "<x/><testsuite tests=\"1\"/>";
	assert_int_equal(fp_junit_parse(s, 4, &c, &err), -1);
	assert_int_equal(fp_junit_parse(s, strlen(s), &c, &err), 0);
	assert_int_equal(c.passed, 1);
}

/* Every prefix of real files, each in an exact-size heap buffer (no NUL), so
 * an overread shows under ASan/valgrind; no prefix may crash or count more
 * than the whole file. */
static void test_prefixes_never_overread(void **state)
{
	(void)state;
	const char *files[] = {"pytest_mix.xml", "multi_quotes.xml", "pytest_mix.txt"};
	for (size_t f = 0; f < 3; f++) {
		size_t len;
		char *whole = fixture(files[f], &len);
		for (size_t n = 0; n <= len; n++) {
			char *p = malloc(n ? n : 1);
			memcpy(p, whole, n);
			struct fp_test_counts c;
			struct fp_err err;
			if (fp_junit_parse(p, n, &c, &err) == 0)
				assert_true(c.passed <= 5 && c.failed <= 1);
			if (fp_pytest_summary_parse(p, n, &c, &err) == 0)
				assert_true(c.passed <= 3 && c.failed <= 1);
			free(p);
		}
		free(whole);
	}
}

static const struct {
	const char *file;
	struct expect e;
} summary_files[] = {
	{"pytest_mix.txt", OK(3, 1, 1, 2)},
	{"pytest_mix_q.txt", OK(3, 1, 1, 2)},
	{"pytest_collect_error.txt", OK(0, 0, 1, 0)},
	{"pytest_no_tests.txt", OK(0, 0, 0, 0)},
	{"pytest_mix.xml", BAD("no pytest summary")},
};

static void test_summary_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof summary_files / sizeof summary_files[0]; i++) {
		size_t len;
		char *text = fixture(summary_files[i].file, &len);
		struct fp_test_counts c;
		struct fp_err err = {{0}};
		int rc = fp_pytest_summary_parse(text, len, &c, &err);
		check(rc, &c, &err, &summary_files[i].e, summary_files[i].file);
		free(text);
	}
}

static const struct {
	const char *text;
	struct expect e;
} summary_lines[] = {
	{"=== 1 failed, 2 passed, 1 skipped, 3 errors in 0.12s ===", OK(2, 1, 3, 1)},
	{"1 failed, 2 passed in 0.12s", OK(2, 1, 0, 0)},
	{"no tests ran in 0.01s", OK(0, 0, 0, 0)},
	{"== 2 passed, 1 warning in 1.50s ==\n", OK(2, 0, 0, 0)},
	{"4 passed, 2 warnings, 1 deselected in 3.00s (0:00:03)", OK(4, 0, 0, 0)},
	{"1 xpassed, 1 xfailed in 0.1s", OK(1, 0, 0, 1)},
	{"5 passed in 1.2 seconds", OK(5, 0, 0, 0)},
	/* the last summary wins (a test may print an old one first) */
	{"=== 9 passed in 0.1s ===\nmore output\n=== 1 failed in 0.2s ===\n", OK(0, 1, 0, 0)},
	{"=== 1 failed in 0.2s ===\nnot a summary: 7 passed in total\n", OK(0, 1, 0, 0)},
	{"", BAD("no pytest summary")},
	{"7 passed", BAD("no pytest summary")},
	{"7 apples in 0.1s", BAD("no pytest summary")},
	{"passed in 0.1s", BAD("no pytest summary")},
	{"99999999999 passed in 0.1s", BAD("no pytest summary")},
	{"1 failed,2 passed in 0.1s", BAD("no pytest summary")},
	{"FAILED t.py::test_x - assert 1 in [2]s", BAD("no pytest summary")},
};

static void test_summary_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof summary_lines / sizeof summary_lines[0]; i++) {
		struct fp_test_counts c;
		struct fp_err err = {{0}};
		const char *t = summary_lines[i].text;
		int rc = fp_pytest_summary_parse(t, strlen(t), &c, &err);
		check(rc, &c, &err, &summary_lines[i].e, t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_junit_fixtures),
		cmocka_unit_test(test_junit_empty),
		cmocka_unit_test(test_prefixes_never_overread),
		cmocka_unit_test(test_summary_fixtures),
		cmocka_unit_test(test_summary_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
