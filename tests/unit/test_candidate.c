/* test_candidate.c - extraction, validation, loading, writing, hashing of
 * candidates. Every bad-input class has a fixture in
 * tests/fixtures/candidates (bad_*), every accepted shape one too (ok_*). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "candidate.h"
#include "util.h"

enum lim { LIM_DEFAULT, LIM_SMALL, LIM_WIDE };

static struct fp_cand_limits limits(enum lim which)
{
	struct fp_cand_limits l;
	fp_cand_limits_default(&l);
	switch (which) {
	case LIM_SMALL:
		l.max_files = 3;
		l.max_file_bytes = 10;
		l.max_total_bytes = 20;
		break;
	case LIM_WIDE:
		l.max_path_len = 1000;
		break;
	case LIM_DEFAULT:
		break;
	}
	return l;
}

static char *fixture_path(const char *name)
{
	static char path[1024];
	snprintf(path, sizeof path, "%s/candidates/%s", FP_FIXTURES, name);
	return path;
}

static char *fixture(const char *name, size_t *len)
{
	char *data = NULL;
	struct fp_err err;
	if (fp_read_file(fixture_path(name), 1 << 20, &data, len, &err) < 0)
		fail_msg("%s", err.msg);
	return data;
}

static const char *file_data(const struct fp_filemap *m, const char *path, size_t *len)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->files[i].path, path)) {
			if (len)
				*len = m->files[i].len;
			return m->files[i].data;
		}
	return NULL;
}

static const struct {
	const char *file;
	enum lim lim;
	const char *err; /* substring of the error; NULL = accepted */
	size_t nfiles;
	const char *first; /* first path in sorted order */
} cases[] = {
	{"ok_plain.json", LIM_DEFAULT, NULL, 3, "README.md"},
	{"ok_fenced_plain.txt", LIM_DEFAULT, NULL, 3, "README.md"},
	{"ok_fenced_json.txt", LIM_DEFAULT, NULL, 3, "README.md"},
	{"ok_fenced_upper.txt", LIM_DEFAULT, NULL, 3, "README.md"},
	{"ok_prose.txt", LIM_DEFAULT, NULL, 3, "README.md"},
	{"ok_two_fences.txt", LIM_DEFAULT, NULL, 3, "README.md"},
	{"ok_broken_then_good_fence.txt", LIM_DEFAULT, NULL, 3, "README.md"},
	{"ok_nested_braces.txt", LIM_DEFAULT, NULL, 2, "a.py"},
	{"ok_empty_object_in_prose.txt", LIM_DEFAULT, NULL, 1, "a.py"},
	{"ok_escaped_backslash_u0000.json", LIM_DEFAULT, NULL, 1, "a.py"},
	{"ok_dotgit_and_unicode.json", LIM_DEFAULT, NULL, 2, ".git/config"},
	{"bad_invalid_json.txt", LIM_DEFAULT, "does not parse: syntax error at line 3", 0, NULL},
	{"bad_truncated.txt", LIM_DEFAULT, "does not parse: it ends early", 0, NULL},
	{"bad_no_json.txt", LIM_DEFAULT, "no JSON object found in the reply (it starts with: 'Sure!", 0, NULL},
	{"bad_empty.txt", LIM_DEFAULT, "reply is empty", 0, NULL},
	{"bad_array.json", LIM_DEFAULT, "JSON array, not an object", 0, NULL},
	{"bad_fence_array.txt", LIM_DEFAULT, "JSON array, not an object", 0, NULL},
	{"bad_nonstring.json", LIM_DEFAULT, "\"api/main.py\": value must be a string, got number", 0, NULL},
	{"bad_dup_key.json", LIM_DEFAULT, "\"a.py\": duplicate path", 0, NULL},
	{"bad_absolute.json", LIM_DEFAULT, "\"/etc/passwd\": path must be relative", 0, NULL},
	{"bad_dotdot.json", LIM_DEFAULT, "\"../x.py\": path has a '..' component", 0, NULL},
	{"bad_mid_dotdot.json", LIM_DEFAULT, "\"a/../b.py\": path has a '..' component", 0, NULL},
	{"bad_double_slash.json", LIM_DEFAULT, "\"a//b.py\": path has an empty component", 0, NULL},
	{"bad_dot.json", LIM_DEFAULT, "\"./a.py\": path has a '.' component", 0, NULL},
	{"bad_trailing_slash.json", LIM_DEFAULT, "\"a/\": path must not end with '/'", 0, NULL},
	{"bad_backslash.json", LIM_DEFAULT, "\"a\\\\b.py\": path has a backslash", 0, NULL},
	{"bad_nul_path.json", LIM_DEFAULT, "\"a\": path holds a NUL character", 0, NULL},
	{"bad_nul_content.json", LIM_DEFAULT, "\"a.py\": contents hold a NUL character", 0, NULL},
	{"bad_control.json", LIM_DEFAULT, "\"a\\u0001.py\": path has a control character", 0, NULL},
	{"bad_long_path.json", LIM_DEFAULT, "path is 201 bytes, longer than the limit of 200", 0, NULL},
	{"bad_long_component.json", LIM_WIDE, "path component is 259 bytes, longer than 255", 0, NULL},
	{"bad_deep.json", LIM_DEFAULT, "path has 13 components, more than the limit of 12", 0, NULL},
	{"bad_too_many.json", LIM_SMALL, "the reply has 4 files, more than the limit of 3", 0, NULL},
	{"bad_file_big.json", LIM_SMALL, "\"a.py\": file is 11 bytes, over the limit of 10", 0, NULL},
	{"bad_total_big.json", LIM_SMALL, "files total more than the limit of 20 bytes", 0, NULL},
	{"bad_conflict.json", LIM_DEFAULT, "\"a\": is a file, but \"a/b.py\" needs it to be a directory", 0, NULL},
	{"bad_empty_map.json", LIM_DEFAULT, "the reply contains no files", 0, NULL},
};

static void test_fixture_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		char *text = fixture(cases[i].file, &len);
		struct fp_cand_limits l = limits(cases[i].lim);
		struct fp_filemap m = {0};
		struct fp_err err = {{0}};
		int rc = fp_cand_from_text(text, len, &l, &m, &err);
		free(text);
		if (cases[i].err) {
			if (rc != -1)
				fail_msg("%s: accepted, expected '%s'", cases[i].file, cases[i].err);
			if (!strstr(err.msg, cases[i].err))
				fail_msg("%s: error '%s' lacks '%s'", cases[i].file, err.msg, cases[i].err);
			assert_null(m.files);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: rejected: %s", cases[i].file, err.msg);
		assert_int_equal(m.n, cases[i].nfiles);
		assert_string_equal(m.files[0].path, cases[i].first);
		for (size_t k = 1; k < m.n; k++)
			assert_true(strcmp(m.files[k - 1].path, m.files[k].path) < 0);
		fp_filemap_free(&m);
	}
}

static void load_text(const char *name, struct fp_filemap *m)
{
	struct fp_cand_limits l = limits(LIM_DEFAULT);
	struct fp_err err;
	if (fp_cand_load(fixture_path(name), &l, m, &err) < 0)
		fail_msg("%s: %s", name, err.msg);
}

/* Every wrapping of the same object (fences, prose, key order, spacing)
 * yields the same map and hash; contents survive exactly. */
static void test_wrappings_hash_equal(void **state)
{
	(void)state;
	const char *same[] = {"ok_plain.json", "ok_fenced_plain.txt", "ok_fenced_json.txt",
	                      "ok_fenced_upper.txt", "ok_prose.txt", "ok_two_fences.txt",
	                      "ok_broken_then_good_fence.txt"};
	char want[65], got[65];
	struct fp_filemap m;
	load_text(same[0], &m);
	fp_filemap_sha256(&m, want);
	assert_string_equal(file_data(&m, "README.md", NULL),
	                    "# Notes\n\n```bash\npython3 api/main.py\n```\n");
	fp_filemap_free(&m);
	for (size_t i = 1; i < sizeof same / sizeof same[0]; i++) {
		load_text(same[i], &m);
		fp_filemap_sha256(&m, got);
		if (strcmp(want, got))
			fail_msg("%s hashes differently", same[i]);
		fp_filemap_free(&m);
	}
	/* key order and whitespace do not matter; content, path split do */
	const char *a = "{\"x.py\": \"1\", \"y.py\": \"2\"}";
	const char *b = "\n{ \"y.py\" :\"2\",\n\t\"x.py\":\"1\" }  ";
	const char *c = "{\"x.py\": \"1\", \"y.py\": \"3\"}";
	const char *d = "{\"x.py\": \"1\", \"y.py2\": \"\"}";
	const char *e = "{\"x.py\": \"1\", \"y.py\": \"2\", \"z\": \"\"}";
	const char *texts[] = {a, b, c, d, e};
	char hex[5][65];
	struct fp_cand_limits l = limits(LIM_DEFAULT);
	for (int i = 0; i < 5; i++) {
		struct fp_err err;
		assert_int_equal(fp_cand_from_text(texts[i], strlen(texts[i]), &l, &m, &err), 0);
		fp_filemap_sha256(&m, hex[i]);
		fp_filemap_free(&m);
	}
	assert_string_equal(hex[0], hex[1]);
	for (int i = 2; i < 5; i++)
		assert_string_not_equal(hex[0], hex[i]);
	assert_int_equal(strlen(hex[0]), 64);
}

static void test_extract_details(void **state)
{
	(void)state;
	struct fp_filemap m;
	load_text("ok_nested_braces.txt", &m);
	assert_string_equal(file_data(&m, "a.py", NULL), "d = {\"k\": \"}\"}\nprint('{')\n");
	assert_string_equal(file_data(&m, "b.py", NULL), "s = '\\\\'\n");
	fp_filemap_free(&m);
	load_text("ok_escaped_backslash_u0000.json", &m);
	assert_string_equal(file_data(&m, "a.py", NULL), "p = 'C:\\u0000'\n");
	fp_filemap_free(&m);

	/* the quote of the reply is capped at 60 bytes, control chars escaped */
	size_t len;
	char *text = fixture("bad_no_json.txt", &len);
	char *json = NULL;
	struct fp_err err;
	assert_int_equal(fp_cand_extract(text, len, &json, &err), -1);
	assert_null(json);
	assert_string_equal(err.msg, "no JSON object found in the reply (it starts with: "
	                    "'Sure! Here is a description of the project,\\nwithout\\tany "
	                    "code...')");
	free(text);

	/* raw NUL bytes: never silently cut */
	static const char raw_nul[] = "{\"a.py\": \"x\0y\"}";
	assert_int_equal(fp_cand_extract(raw_nul, sizeof raw_nul - 1, &json, &err), -1);
	assert_non_null(strstr(err.msg, "line 1 column 12"));
	struct fp_cand_limits l = limits(LIM_DEFAULT);
	assert_int_equal(fp_cand_parse(raw_nul, sizeof raw_nul - 1, &l, &m, &err), -1);
	assert_string_equal(err.msg, "\"a.py\": contents hold a NUL character (\\u0000)");

	/* the object text itself comes back, without the prose */
	const char *reply = "ok: {\"a\": \"}\"} bye";
	assert_int_equal(fp_cand_extract(reply, strlen(reply), &json, &err), 0);
	assert_string_equal(json, "{\"a\": \"}\"}");
	free(json);
	/* line/column of a syntax error counts from the start of the reply */
	reply = "line one\n```json\n{\"a\": \"b\" \"c\": \"d\"}\n```\n";
	assert_int_equal(fp_cand_extract(reply, strlen(reply), &json, &err), -1);
	assert_non_null(strstr(err.msg, "line 3 column 11 near '\"c\": \"d\"}\\n"));
}

/* Hostile shapes must end quickly (the ctest TIMEOUT catches a hang). */
static void test_extract_hostile_sizes(void **state)
{
	(void)state;
	size_t n = 4u << 20;
	char *big = malloc(n);
	char *json = NULL;
	struct fp_err err;
	memset(big, '{', n);
	assert_int_equal(fp_cand_extract(big, n, &json, &err), -1);
	assert_non_null(strstr(err.msg, "does not parse"));
	for (size_t i = 0; i + 1 < n; i += 2)
		memcpy(big + i, "{\"", 2);
	assert_int_equal(fp_cand_extract(big, n, &json, &err), -1);
	/* prose full of empty dicts: skipped, the attempt cap ends the scan */
	for (size_t i = 0; i + 1 < n; i += 2)
		memcpy(big + i, "{}", 2);
	big[0] = 'x';
	assert_int_equal(fp_cand_extract(big, n, &json, &err), 0);
	assert_string_equal(json, "{}");
	free(json);
	free(big);
	size_t huge = (16u << 20) + 1;
	big = calloc(1, huge);
	assert_int_equal(fp_cand_extract(big, huge, &json, &err), -1);
	assert_non_null(strstr(err.msg, "reply is too large"));
	free(big);
}

static void test_check_path(void **state)
{
	(void)state;
	struct fp_cand_limits l = limits(LIM_DEFAULT);
	const char *good[] = {"a", "a/b.py", ".hidden", "a..b", "...", "a/.b/c", "café/x"};
	const char *bad[] = {"", "/a", "a/", "a//b", ".", "..", "a/.", "./a", "a/../b",
	                     "a\\b", "a\tb", "a\x7f", "a\nb"};
	struct fp_err err;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (fp_cand_check_path(good[i], &l, &err) != 0)
			fail_msg("'%s' rejected: %s", good[i], err.msg);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (fp_cand_check_path(bad[i], &l, &err) != -1)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(fp_cand_check_path("a\nb", &l, &err), -1);
	assert_string_equal(err.msg, "\"a\\nb\": path has a control character");
}

/* ---- disk ---------------------------------------------------------------- */

static char *make_tmp(void)
{
	char *d = fp_strdup("/tmp/fp_test_cand_XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void put(const char *dir, const char *rel, const char *data)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void sub(const char *dir, const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void test_load_dir(void **state)
{
	(void)state;
	char *d = make_tmp();
	struct fp_cand_limits l = limits(LIM_DEFAULT);
	struct fp_filemap m;
	struct fp_err err;
	sub(d, "api");
	sub(d, "api/__pycache__");
	sub(d, ".pytest_cache");
	sub(d, ".git");
	put(d, "api/main.py", "print(1)\n");
	put(d, "api/__pycache__/main.cpython-311.pyc", "junk");
	put(d, ".pytest_cache/README.md", "cache");
	put(d, ".git/HEAD", "ref");
	put(d, "README.md", "hi\n");
	assert_int_equal(fp_cand_load(d, &l, &m, &err), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.files[0].path, "README.md");
	assert_string_equal(m.files[1].path, "api/main.py");
	assert_string_equal(m.files[1].data, "print(1)\n");
	fp_filemap_free(&m);

	/* a file over the limit is an error, naming it */
	struct fp_cand_limits small = limits(LIM_SMALL);
	put(d, "api/big.py", "0123456789ABC");
	assert_int_equal(fp_cand_load_dir(d, &small, &m, &err), -1);
	assert_non_null(strstr(err.msg, "\"api/big.py\": file is over the limit of 10 bytes"));
	assert_null(m.files);

	char path[512];
	snprintf(path, sizeof path, "%s/api/link.py", d);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(fp_cand_load_dir(d, &l, &m, &err), -1);
	assert_non_null(strstr(err.msg, "\"api/link.py\""));
	assert_non_null(strstr(err.msg, "is a symlink"));
	unlink(path);

	snprintf(path, sizeof path, "%s/fifo", d);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(fp_cand_load_dir(d, &l, &m, &err), -1);
	assert_non_null(strstr(err.msg, "\"fifo\""));
	assert_non_null(strstr(err.msg, "is a fifo"));
	unlink(path);

	/* a symlinked directory is not followed either */
	snprintf(path, sizeof path, "%s/lib", d);
	assert_int_equal(symlink("/usr/lib", path), 0);
	assert_int_equal(fp_cand_load_dir(d, &l, &m, &err), -1);
	assert_non_null(strstr(err.msg, "is a symlink"));
	fp_remove_tree(d);
	free(d);
}

static void test_write_read_back(void **state)
{
	(void)state;
	struct fp_filemap m, back;
	struct fp_err err;
	struct fp_cand_limits l = limits(LIM_DEFAULT);
	load_text("ok_plain.json", &m);
	char *d = make_tmp();
	mode_t old = umask(077); /* the modes must not depend on the umask */
	int rc = fp_filemap_write(&m, d, &err);
	umask(old);
	if (rc != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(fp_cand_load_dir(d, &l, &back, &err), 0);
	char h1[65], h2[65];
	fp_filemap_sha256(&m, h1);
	fp_filemap_sha256(&back, h2);
	assert_string_equal(h1, h2);
	assert_int_equal(back.n, m.n);
	char path[512];
	struct stat st;
	snprintf(path, sizeof path, "%s/api/main.py", d);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	snprintf(path, sizeof path, "%s/api", d);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);

	/* not empty any more: refused, nothing overwritten */
	assert_int_equal(fp_filemap_write(&back, d, &err), -1);
	assert_non_null(strstr(err.msg, "is not empty"));
	fp_filemap_free(&back);

	/* a symlink as the target directory is refused */
	char *e = make_tmp();
	snprintf(path, sizeof path, "%s/ln", e);
	char *empty = make_tmp();
	assert_int_equal(symlink(empty, path), 0);
	assert_int_equal(fp_filemap_write(&m, path, &err), -1);
	assert_non_null(strstr(err.msg, "cannot open directory"));
	fp_filemap_free(&m);
	fp_remove_tree(d);
	fp_remove_tree(e);
	fp_remove_tree(empty);
	free(d);
	free(e);
	free(empty);
}

/* A map that skipped validation still cannot escape the directory. */
static void test_write_rechecks_paths(void **state)
{
	(void)state;
	char *d = make_tmp();
	char outside[600];
	snprintf(outside, sizeof outside, "%s_evil", d);
	struct fp_file f[] = {{(char *)"ok.py", (char *)"x", 1},
	                      {(char *)"../", (char *)"x", 1}};
	char evil[600];
	snprintf(evil, sizeof evil, "../%s_evil", strrchr(d, '/') + 1);
	f[1].path = evil;
	struct fp_filemap m = {f, 2};
	struct fp_err err;
	assert_int_equal(fp_filemap_write(&m, d, &err), -1);
	assert_non_null(strstr(err.msg, "'..' component"));
	assert_int_equal(access(outside, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	fp_remove_tree(d);
	free(d);
}

static void test_to_json_roundtrip(void **state)
{
	(void)state;
	struct fp_filemap m, back;
	struct fp_err err;
	struct fp_cand_limits l = limits(LIM_DEFAULT);
	load_text("ok_plain.json", &m);
	char *json = fp_filemap_to_json(&m);
	assert_int_equal(fp_cand_parse(json, strlen(json), &l, &back, &err), 0);
	char h1[65], h2[65];
	fp_filemap_sha256(&m, h1);
	fp_filemap_sha256(&back, h2);
	assert_string_equal(h1, h2);
	free(json);
	fp_filemap_free(&back);
	fp_filemap_free(&m);
	/* contents with NUL and control bytes (possible from disk) are escaped */
	struct fp_file f = {(char *)"b.bin", (char *)"a\0\"\\\x01", 5};
	struct fp_filemap one = {&f, 1};
	json = fp_filemap_to_json(&one);
	assert_string_equal(json, "{\n  \"b.bin\": \"a\\u0000\\\"\\\\\\u0001\"\n}\n");
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_table),
		cmocka_unit_test(test_wrappings_hash_equal),
		cmocka_unit_test(test_extract_details),
		cmocka_unit_test(test_extract_hostile_sizes),
		cmocka_unit_test(test_check_path),
		cmocka_unit_test(test_load_dir),
		cmocka_unit_test(test_write_read_back),
		cmocka_unit_test(test_write_rechecks_paths),
		cmocka_unit_test(test_to_json_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
