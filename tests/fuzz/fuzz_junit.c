/* fuzz_junit.c - libFuzzer target for the JUnit XML counter and pytest's
 * terminal summary parser (both read text written by candidate code).
 * The same input goes to both; the buffer is passed without a terminating
 * NUL since junit.h promises never to read past len.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "junit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void junit_check(const char *who, int rc,
                        const struct fp_test_counts *c,
                        const struct fp_err *err)
{
	if (rc == 0) {
		/* Counts are either unknown (-1) or a real count. */
		if (c->passed < -1 || c->failed < -1 || c->errors < -1 ||
		    c->skipped < -1) {
			fprintf(stderr, "fuzz_junit: %s: negative count %ld %ld "
			        "%ld %ld\n", who, c->passed, c->failed,
			        c->errors, c->skipped);
			abort();
		}
	} else if (rc != -1 || !err->msg[0]) {
		fprintf(stderr, "fuzz_junit: %s: rc %d without a message\n",
		        who, rc);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fp_test_counts c;
	struct fp_err err = { { 0 } };
	int rc;

	rc = fp_junit_parse((const char *)data, size, &c, &err);
	junit_check("fp_junit_parse", rc, &c, &err);
	err.msg[0] = '\0';
	rc = fp_pytest_summary_parse((const char *)data, size, &c, &err);
	junit_check("fp_pytest_summary_parse", rc, &c, &err);
	return 0;
}
