/* junit.h - counts from a pytest JUnit XML file (untrusted: written by
 * candidate code). Only the <testsuite>/<testsuites> attributes are read. */
#ifndef FP_JUNIT_H
#define FP_JUNIT_H

#include <stddef.h>
#include "util.h"

struct fp_test_counts {
	long passed, failed, errors, skipped; /* -1 when unknown */
};

/* Sums tests/failures/errors/skipped over every <testsuite ...> element and
 * derives passed = tests - failures - errors - skipped. Returns 0, or -1 when
 * no testsuite element is found (err says why). Never reads past len. */
int fp_junit_parse(const char *xml, size_t len, struct fp_test_counts *out,
                   struct fp_err *err);

/* Parses pytest's terminal summary line ("== 1 failed, 2 passed in 0.1s ==")
 * when there is no JUnit file. Same return convention. */
int fp_pytest_summary_parse(const char *text, size_t len,
                            struct fp_test_counts *out, struct fp_err *err);

#endif
