/* test_policy.c - policy files: the shipped ones, every class of bad input
 * (tests/fixtures/policies/invalid_*.json), comment stripping and the line
 * locator.
 *
 * Each invalid fixture marks the line the error must name with a
 * "// <- error" comment, so the expected line lives next to the mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonc.h"
#include "policy.h"
#include "util.h"

#define FIX FP_FIXTURES "/policies/"

/* The line of the "// <- error" marker in |path|, 0 if none. */
static int marker_line(const char *path)
{
	struct fp_err err;
	char *t = NULL, *m;
	size_t len = 0;
	int line = 0;

	if (fp_read_file(path, 1 << 20, &t, &len, &err) < 0)
		return 0;
	m = strstr(t, "<- error");
	if (m)
		line = fp_jsonc_offset_line(t, len, (size_t)(m - t));
	free(t);
	return line;
}

static char *describe(const struct fp_policy *p)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	assert_non_null(f);
	fp_policy_describe(p, f);
	fclose(f);
	return buf;
}

static const char *env_get(const struct fp_policy *p, const char *key)
{
	size_t k = strlen(key);

	for (size_t i = 0; p->env[i]; i++)
		if (strncmp(p->env[i], key, k) == 0 && p->env[i][k] == '=')
			return p->env[i] + k + 1;
	return NULL;
}

/* ---- the shipped policies ------------------------------------------- */

static void test_default(void **state)
{
	struct fp_policy p;
	struct fp_err err;
	char *d;

	(void)state;
	if (fp_policy_load(FP_SOURCE_DIR "/policies/default.json", &p, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(p.name, "default");
	assert_string_equal(p.python, "/usr/bin/python3");
	assert_string_equal(p.workspace_path, "/work");
	assert_int_equal(p.workspace_mode, SBX_WS_COPY);
	assert_null(p.wheelhouse);
	assert_int_equal(p.limits.memory_bytes, 1024ull << 20);
	assert_int_equal(p.limits.pids, 128);
	assert_int_equal(p.limits.tmp_bytes, 64ull << 20);
	assert_int_equal(p.limits.workspace_bytes, 256ull << 20);
	assert_int_equal(p.limits.address_space_bytes, 0);
	assert_int_equal(p.wall_ms, 300000);
	assert_int_equal(p.cpu_ms, 120000);
	assert_int_equal(p.output_bytes, 1024 << 10);
	assert_int_equal(p.test_timeout_ms, 180000);
	assert_int_equal(p.cand.max_files, 200);
	assert_string_equal(env_get(&p, "HOME"), "/tmp");
	assert_null(env_get(&p, "OPENAI_API_KEY"));
	d = describe(&p);
	assert_non_null(strstr(d, "default allow; 43 rules"));
	assert_non_null(strstr(d, "errno ENOSYS clone3"));
	assert_non_null(strstr(d, "errno EPERM  pidfd_getfd")); /* default */
	assert_non_null(strstr(d, "arg0 & CLONE_NEWUSER == CLONE_NEWUSER"));
	assert_non_null(strstr(d, "ro    /lib64  (optional)"));
	assert_non_null(strstr(d, "file  /etc/passwd"));
	free(d);
	fp_policy_free(&p);
	fp_policy_free(&p); /* idempotent */
}

/* tests.json extends default: limits grow, isolation is inherited. */
static void test_tests_extends_default(void **state)
{
	struct fp_policy p;
	struct fp_err err;
	char *d;

	(void)state;
	if (fp_policy_load(FP_SOURCE_DIR "/policies/tests.json", &p, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(p.name, "tests");
	assert_int_equal(p.limits.pids, 512);
	assert_int_equal(p.limits.memory_bytes, 2048ull << 20);
	assert_int_equal(p.wall_ms, 600000);
	assert_int_equal(p.test_timeout_ms, 600000);
	assert_int_equal(p.start_timeout_ms, 30000);   /* from default */
	assert_int_equal(p.limits.open_files, 256);     /* from default */
	assert_string_equal(env_get(&p, "LANG"), "C.UTF-8");
	d = describe(&p);
	assert_non_null(strstr(d, "extends: default.json <- tests.json"));
	assert_non_null(strstr(d, "43 rules"));
	free(d);
	fp_policy_free(&p);
}

static void test_strict(void **state)
{
	struct fp_policy p;
	struct fp_err err;
	char *d;

	(void)state;
	if (fp_policy_load(FP_SOURCE_DIR "/policies/strict.json", &p, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(p.limits.memory_bytes, 512ull << 20);
	assert_int_equal(p.limits.pids, 64);
	assert_int_equal(p.wall_ms, 120000);
	assert_int_equal(p.output_bytes, 256 << 10);
	assert_int_equal(p.workspace_mode, SBX_WS_COPY);
	d = describe(&p);
	assert_non_null(strstr(d, "kill         ptrace"));
	assert_non_null(strstr(d, "errno ENOSYS clone3"));
	assert_null(strstr(d, "errno EPERM"));
	free(d);
	fp_policy_free(&p);
}

/* ---- fixtures ----------------------------------------------------------- */

static void test_valid_fixtures(void **state)
{
	struct fp_policy p;
	struct fp_err err;

	(void)state;
	if (fp_policy_load(FIX "valid_minimal.json", &p, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(p.name, "valid_minimal"); /* the file's stem */
	assert_int_equal(p.limits.memory_bytes, 1024ull << 20); /* defaults */
	assert_int_equal(p.workspace_mode, SBX_WS_COPY);
	assert_null(p.env[0]);
	fp_policy_free(&p);

	if (fp_policy_load(FIX "valid_comments.json", &p, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(env_get(&p, "URL"), "http://127.0.0.1:8000/notes");
	assert_string_equal(env_get(&p, "X"), "*/");
	fp_policy_free(&p);

	if (fp_policy_load(FIX "valid_extends.json", &p, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(p.limits.pids, 32);
	assert_int_equal(p.limits.memory_bytes, 1024ull << 20);
	assert_null(env_get(&p, "HOME"));        /* null removed it */
	assert_string_equal(env_get(&p, "EXTRA"), "1");
	assert_string_equal(env_get(&p, "PATH"), "/usr/local/bin:/usr/bin:/bin");
	{
		char *d = describe(&p);

		assert_non_null(strstr(d, "44 rules"));  /* 43 + 1 appended */
		assert_non_null(strstr(d, "file  /etc/motd"));
		assert_non_null(strstr(d, "file  /etc/hosts"));
		free(d);
	}
	fp_policy_free(&p);
}

struct bad {
	const char *file;
	const char *error_file; /* where the error is; NULL = file */
	const char *field;      /* "" when the error has no field */
	const char *problem;    /* substring */
};

static const struct bad bad_cases[] = {
	{ "invalid_unknown_top", NULL, "memroy_mb", "unknown field" },
	{ "invalid_unknown_nested", NULL, "limits.memroy_mb", "unknown field" },
	{ "invalid_wrong_type", NULL, "hostname", "expected a string" },
	{ "invalid_zero_limit", NULL, "limits.memory_mb",
	  "expected a positive integer" },
	{ "invalid_negative_limit", NULL, "limits.pids",
	  "expected a positive integer" },
	{ "invalid_errno_name", NULL, "seccomp.rules[1].errno",
	  "unknown errno name 'EPREM'" },
	{ "invalid_unknown_syscall", NULL, "seccomp.rules[0].syscalls[1]",
	  "unknown syscall 'ptrac'" },
	{ "invalid_missing_why", NULL, "seccomp.rules[0].why", "required" },
	{ "invalid_empty_why", NULL, "seccomp.rules[0].why", "must say why" },
	{ "invalid_workspace_mode", NULL, "filesystem.workspace",
	  "expected \"copy\", \"rw\" or \"ro\"" },
	{ "invalid_capabilities", NULL, "capabilities", "must be empty" },
	{ "invalid_namespaces", NULL, "namespaces", "'cgroup' is missing" },
	{ "invalid_syntax", NULL, "", "invalid JSON near '\"uid\": 1000'" },
	{ "invalid_unterminated_comment", NULL, "", "unterminated comment" },
	{ "invalid_unterminated_string", NULL, "", "unterminated string" },
	{ "invalid_relative_bind", NULL, "filesystem.ro[2]",
	  "'usr/lib' is not an absolute path" },
	{ "invalid_dotdot_bind", NULL, "filesystem.rw[0].dst",
	  "not a normalised path" },
	{ "invalid_extends_cycle_a", "invalid_extends_cycle_b", "extends",
	  "cycle" },
	{ "invalid_same_arg_twice", NULL, "seccomp.rules[0].args[1]",
	  "one comparison per argument" },
	{ "invalid_version", NULL, "version", "unsupported version" },
	{ "invalid_duplicate_key", NULL, "limits.pids", "appears twice" },
	{ "invalid_network", NULL, "network", "only \"loopback\"" },
	{ "invalid_missing_seccomp", NULL, "seccomp", "required" },
	{ "invalid_unknown_constant", NULL, "seccomp.rules[0].args[0].mask",
	  "unknown constant 'CLONE_NEWUSR'" },
	{ "invalid_rule_is_default", NULL, "seccomp.rules[1].action",
	  "same as seccomp.default" },
	{ "invalid_api_key_env", NULL, "env.OPENAI_API_KEY", "never" },
};

static void test_invalid_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *b = &bad_cases[i];
		const char *ef = b->error_file ? b->error_file : b->file;
		char path[512], epath[512], want[1024];
		struct fp_policy p;
		struct fp_err err = { "" };
		int line;

		snprintf(path, sizeof(path), FIX "%s.json", b->file);
		snprintf(epath, sizeof(epath), FIX "%s.json", ef);
		line = marker_line(epath);
		if (line == 0)
			fail_msg("%s: no '<- error' marker", epath);
		snprintf(want, sizeof(want), "%s:%d: %s%s%s", epath, line,
		         b->field, *b->field ? ": " : "", b->problem);
		if (fp_policy_load(path, &p, &err) == 0)
			fail_msg("%s: accepted", b->file);
		/* want ends with the problem substring: compare the prefix
		 * exactly, the problem as a substring of the rest. */
		if (strncmp(err.msg, want, strlen(want) - strlen(b->problem)) ||
		    !strstr(err.msg, b->problem))
			fail_msg("%s:\n  got  %s\n  want %s", b->file, err.msg,
			         want);
		/* A failed load leaves nothing to free, and free is safe. */
		assert_null(p.spec);
		fp_policy_free(&p);
	}
}

/* Errors from text: the origin is whatever the caller names. */
static void test_parse_text(void **state)
{
	static const char ok[] = "{\"version\":1,\"seccomp\":{\"default\":"
	                         "\"allow\",\"rules\":[{\"syscall\":\"clone\","
	                         "\"action\":\"kill\",\"args\":[{\"arg\":0,"
	                         "\"op\":\"masked_eq\",\"mask\":\"0x10000000|"
	                         "CLONE_NEWNET\",\"value\":268435456}],"
	                         "\"why\":\"x\"}]}}";
	static const char big[] = "{\"version\":1,\"seccomp\":{},\"limits\":"
	                          "{\"pids\":1.5}}";
	struct fp_policy p;
	struct fp_err err;

	(void)state;
	if (fp_policy_parse(ok, strlen(ok), "mem.json", &p, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(p.name, "mem");
	fp_policy_free(&p);
	assert_int_equal(fp_policy_parse(big, strlen(big), "m.json", &p, &err),
	                 -1);
	assert_string_equal(err.msg, "m.json:1: limits.pids: expected a "
	                             "positive integer");
}

static void test_resolve(void **state)
{
	char out[1024];
	struct fp_err err;

	(void)state;
	setenv("FIRSTPASS_POLICY_DIR", FP_FIXTURES "/policies", 1);
	assert_int_equal(fp_policy_resolve("valid_minimal", out, sizeof(out),
	                                   &err), 0);
	assert_string_equal(out, FIX "valid_minimal.json");
	/* Not in the fixtures: found in the source tree's policies/. */
	assert_int_equal(fp_policy_resolve("strict", out, sizeof(out), &err), 0);
	assert_non_null(strstr(out, "/policies/strict.json"));
	assert_int_equal(fp_policy_resolve("nope", out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "no policy named 'nope'"));
	assert_int_equal(fp_policy_resolve("../x", out, sizeof(out), &err), -1);
	assert_int_equal(fp_policy_resolve(".hidden", out, sizeof(out), &err),
	                 -1);
	unsetenv("FIRSTPASS_POLICY_DIR");
}

/* ---- jsonc ---------------------------------------------------------- */

struct strip_case {
	const char *in;
	const char *out; /* NULL: error */
	const char *err; /* substring of the error */
};

static const struct strip_case strip_cases[] = {
	{ "{\"a\": 1} // c", "{\"a\": 1}     ", NULL },
	{ "{\"u\": \"http://x\"}", "{\"u\": \"http://x\"}", NULL },
	{ "{\"u\": \"/* no */\"}", "{\"u\": \"/* no */\"}", NULL },
	{ "{\"q\": \"a\\\"//b\"}", "{\"q\": \"a\\\"//b\"}", NULL },
	{ "/* a\nb */{}", "    \n    {}", NULL },
	{ "{}/**/", "{}    ", NULL },
	{ "{\"a\":\"\\\\\"}//x", "{\"a\":\"\\\\\"}   ", NULL },
	{ "{\n/* open", NULL, "line 2: unterminated comment" },
	{ "{\n\"a\": \"b\n\"}", NULL, "line 2: unterminated string" },
	{ "{\"a\": \"b", NULL, "line 1: unterminated string" },
};

static void test_strip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(strip_cases) / sizeof(strip_cases[0]);
	     i++) {
		const struct strip_case *c = &strip_cases[i];
		struct fp_err err = { "" };
		char *out = NULL;
		int rc = fp_jsonc_strip(c->in, strlen(c->in), &out, NULL, &err);

		if (c->out) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, err.msg);
			assert_string_equal(out, c->out);
		} else {
			assert_int_equal(rc, -1);
			assert_null(out);
			assert_non_null(strstr(err.msg, c->err));
		}
		free(out);
	}
}

static void test_parse_syntax_line(void **state)
{
	static const char t[] = "{\n  // comment with a \" quote\n  \"a\": 1,\n"
	                        "  \"b\": [1, 2,, 3]\n}";
	struct fp_err err;
	cJSON *j = NULL;

	(void)state;
	assert_int_equal(fp_jsonc_parse(t, strlen(t), &j, &err), -1);
	assert_null(j);
	assert_non_null(strstr(err.msg, "line 4: invalid JSON"));
	assert_int_equal(fp_jsonc_parse_at("f.json", t, strlen(t), &j, &err), -1);
	assert_non_null(strstr(err.msg, "f.json:4: invalid JSON"));
	assert_int_equal(fp_jsonc_parse("{\"a\": 1} x", 10, &j, &err), -1);
	assert_int_equal(fp_jsonc_parse("{\"a\": \"//\"} // c", 17, &j, &err), 0);
	assert_string_equal(cJSON_GetObjectItem(j, "a")->valuestring, "//");
	cJSON_Delete(j);
}

static void test_line_locator(void **state)
{
	static const char t[] =
		"{\n"                                    /* 1 */
		"  \"limits\": {\"x\": \"{\\\"memory_mb\\\": [\",\n" /* 2 */
		"    // \"memory_mb\": 1, in a comment\n" /* 3 */
		"    \"memory_mb\": 0\n"                  /* 4 */
		"  },\n"                                 /* 5 */
		"  \"rules\": [\n"                       /* 6 */
		"    {\"why\": \"a\"},\n"                 /* 7 */
		"    {\n"                                /* 8 */
		"      \"args\": [{\"arg\": 9}],\n"       /* 9 */
		"      \"why\": \"b\"\n"                  /* 10 */
		"    }\n"                                /* 11 */
		"  ]\n"                                  /* 12 */
		"}\n";
	static const struct {
		const char *path[4];
		int depth, line;
	} cases[] = {
		{ { "limits" }, 1, 2 },
		{ { "limits", "memory_mb" }, 2, 4 },
		{ { "limits", "missing" }, 2, 2 },     /* enclosing object */
		{ { "rules", "[0]", "why" }, 3, 7 },
		{ { "rules", "[1]" }, 2, 8 },
		{ { "rules", "[1]", "why" }, 3, 10 },
		{ { "rules", "[1]", "args", "[0]" }, 4, 9 },
		{ { "rules", "[5]" }, 2, 6 },
		{ { "nope" }, 1, 1 },
		{ { NULL }, 0, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = fp_jsonc_line(t, strlen(t), cases[i].path,
		                        cases[i].depth);

		if (got != cases[i].line)
			fail_msg("case %zu: line %d, want %d", i, got,
			         cases[i].line);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_tests_extends_default),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_valid_fixtures),
		cmocka_unit_test(test_invalid_fixtures),
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_strip),
		cmocka_unit_test(test_parse_syntax_line),
		cmocka_unit_test(test_line_locator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
