/* test_fuzz_regress.c - replays the fuzzing inputs as ordinary tests.
 *
 * The fuzz targets themselves (tests/fuzz/fuzz_*.c) are compiled in here,
 * renamed, so a replay checks exactly what the fuzzer checks: no crash, no
 * memory error (under the ASan build of scripts/test), no leak, and each
 * target's invariants (they abort when broken).
 *
 * - every file in tests/fuzz/crashes/ ("<target>-<name>", a minimised input
 *   that once crashed) goes to its target: a crash that comes back fails
 *   here, in every build, not only under the fuzzer;
 * - every seed in tests/fuzz/corpus/<target>/ goes to its target;
 * - fp_openai_parse_reply, exported for the fuzzer, gets table-driven
 *   checks of its results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen_internal.h"
#include "util.h"

#define LLVMFuzzerTestOneInput fuzz_extract_one
#include "../fuzz/fuzz_extract.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_policy_one
#include "../fuzz/fuzz_policy.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_junit_one
#include "../fuzz/fuzz_junit.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_openai_one
#include "../fuzz/fuzz_openai.c"
#undef LLVMFuzzerTestOneInput

#define FUZZ_DIR FP_SOURCE_DIR "/tests/fuzz"
#define MAX_INPUT_BYTES (16u << 20)

struct target {
	const char *name;
	int (*one)(const uint8_t *data, size_t size);
};

static const struct target targets[] = {
	{ "extract", fuzz_extract_one },
	{ "policy", fuzz_policy_one },
	{ "junit", fuzz_junit_one },
	{ "openai", fuzz_openai_one },
};

/* The input being replayed, named by the SIGABRT handler when a target's
 * invariant (or ASan with abort_on_error) aborts: cmocka cannot recover
 * from an abort and would not say which input it was. */
static char current[2100];

static void on_fatal(int sig)
{
	static const char pre[] = "\ntest_fuzz_regress: crashed on input ";

	(void)!write(2, pre, sizeof(pre) - 1);
	(void)!write(2, current, strlen(current));
	(void)!write(2, "\n", 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Feeds one file to |t| from an exact-size heap copy, as libFuzzer does:
 * a read past the end is an ASan report, not a lucky NUL. */
static void replay(const struct target *t, const char *path)
{
	struct fp_err err;
	char *text = NULL;
	size_t len = 0;
	uint8_t *exact;

	if (fp_read_file(path, MAX_INPUT_BYTES, &text, &len, &err) < 0)
		fail_msg("%s", err.msg);
	exact = malloc(len ? len : 1);
	assert_non_null(exact);
	memcpy(exact, text, len);
	free(text);
	snprintf(current, sizeof(current), "%s (target %s)", path, t->name);
	assert_int_equal(t->one(exact, len), 0);
	free(exact);
	current[0] = '\0';
}

/* Replays every regular file in |dir| whose name starts with |prefix|
 * through |t| (t NULL: the target named by the file's prefix). Returns how
 * many files were replayed. */
static size_t replay_dir(const char *dir, const struct target *t)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		const struct target *use = t;
		char path[2048];

		if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
			continue;
		for (size_t i = 0; !use && i < sizeof(targets) /
		     sizeof(targets[0]); i++) {
			size_t k = strlen(targets[i].name);

			if (strncmp(e->d_name, targets[i].name, k) == 0 &&
			    e->d_name[k] == '-')
				use = &targets[i];
		}
		if (!use)
			fail_msg("'%s/%s': name must start with a target name "
			         "and '-'", dir, e->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		replay(use, path);
		n++;
	}
	closedir(d);
	return n;
}

static void test_crashes(void **state)
{
	size_t n;

	(void)state;
	n = replay_dir(FUZZ_DIR "/crashes", NULL);
	print_message("replayed %zu crash inputs\n", n);
}

static void test_seed_corpora(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		char dir[1024];
		size_t n;

		snprintf(dir, sizeof(dir), "%s/corpus/%s", FUZZ_DIR,
		         targets[i].name);
		n = replay_dir(dir, &targets[i]);
		if (n < 5)
			fail_msg("'%s': only %zu seeds", dir, n);
	}
}

struct reply_case {
	int chat;
	const char *body;
	int rc;
	const char *text; /* expected text when rc == 0 */
	const char *msg;  /* expected substring of the error otherwise */
};

static const struct reply_case reply_cases[] = {
	{ 1, "{\"choices\":[{\"message\":{\"content\":\"hi\"}}]}", 0, "hi",
	  NULL },
	{ 1, "{\"choices\":[{\"message\":{\"content\":null}}]}", -2, NULL,
	  "choices[0].message.content" },
	{ 1, "{\"output_text\":\"not chat\"}", -2, NULL, "choices" },
	{ 0, "{\"output_text\":\"direct\",\"output\":[]}", 0, "direct", NULL },
	{ 0, "{\"output\":[{\"content\":[{\"type\":\"output_text\",\"text\":"
	     "\"a\"},{\"type\":\"refusal\",\"text\":\"x\"}]},{\"content\":["
	     "{\"type\":\"output_text\",\"text\":\"b\"}]}]}", 0, "ab", NULL },
	{ 0, "{\"output\":[{\"content\":[{\"type\":\"output_text\",\"text\":"
	     "\"\"}]}]}", 0, "", NULL },
	{ 0, "{\"output\":[]}", -2, NULL, "output_text content" },
	{ 0, "{\"error\":{\"message\":\"rate limited\"}}", -2, NULL,
	  "reply has no" },
	{ 0, "", -1, NULL, "not valid JSON" },
	{ 1, "{\"choices\":[{\"mess", -1, NULL, "of 18" },
	{ 1, "<html>502</html>", -1, NULL, "near byte 0 of 16" },
};

static void test_openai_parse_reply(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]);
	     i++) {
		const struct reply_case *c = &reply_cases[i];
		size_t len = strlen(c->body);
		char *exact = malloc(len + 1), *text = NULL;
		struct fp_err err = { { 0 } };
		int rc;

		assert_non_null(exact);
		memcpy(exact, c->body, len); /* no NUL within len */
		exact[len] = 'x';
		rc = fp_openai_parse_reply(c->chat, exact, len, &text, &err);
		if (rc != c->rc)
			fail_msg("case %zu: rc %d, expected %d (%s)", i, rc,
			         c->rc, err.msg);
		if (c->rc == 0) {
			assert_non_null(text);
			assert_string_equal(text, c->text);
		} else {
			assert_null(text);
			if (!strstr(err.msg, c->msg))
				fail_msg("case %zu: '%s' lacks '%s'", i,
				         err.msg, c->msg);
		}
		free(text);
		free(exact);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crashes),
		cmocka_unit_test(test_seed_corpora),
		cmocka_unit_test(test_openai_parse_reply),
	};

	signal(SIGABRT, on_fatal);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
