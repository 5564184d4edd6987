/* fuzz_policy.c - libFuzzer target for the policy parser (fp_policy_parse).
 *
 * Parsing builds a sandbox spec but never creates a box, so this is safe to
 * run as root. The origin is a (non-existent) file in the fixtures so that a
 * relative "extends" such as "../../../policies/default.json" resolves to a
 * real base and the merge code is exercised too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy.h"

#define ORIGIN FP_SOURCE_DIR "/tests/fixtures/policies/fuzz.json"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* describe walks every member: catches half-built policies. */
static void policy_describe(const struct fp_policy *p)
{
	FILE *devnull = fopen("/dev/null", "we");

	if (!devnull)
		return;
	fp_policy_describe(p, devnull);
	fclose(devnull);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fp_policy p;
	struct fp_err err = { { 0 } };

	if (fp_policy_parse((const char *)data, size, ORIGIN, &p, &err) == 0) {
		if (!p.spec || !p.name || !p.python || !p.workspace_path) {
			fprintf(stderr, "fuzz_policy: accepted policy lacks a "
			        "spec, name, python or workspace path\n");
			abort();
		}
		policy_describe(&p);
	} else if (!err.msg[0]) {
		fprintf(stderr, "fuzz_policy: error without a message\n");
		abort();
	}
	fp_policy_free(&p);
	return 0;
}
