/* test_util.c - util.c: capped buffers, files, directories, removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/fp-test-util-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return fp_remove_tree(dir);
}

static void test_buf_cap_truncates(void **state)
{
	(void)state;
	struct fp_buf b;
	fp_buf_init(&b, 10);
	assert_int_equal(fp_buf_append(&b, "hello", 5), 0);
	assert_int_equal(fp_buf_append(&b, " world!", 7), -1);
	assert_true(b.truncated);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "hello worl");
	/* Nothing more fits, and the terminator stays in place. */
	assert_int_equal(fp_buf_append(&b, "x", 1), -1);
	assert_string_equal(b.data, "hello worl");
	fp_buf_reset(&b);
	assert_false(b.truncated);
	assert_int_equal(fp_buf_printf(&b, "%d-%s", 42, "ab"), 0);
	assert_string_equal(b.data, "42-ab");
	char *s = fp_buf_steal(&b);
	assert_string_equal(s, "42-ab");
	assert_null(b.data);
	free(s);
	fp_buf_free(&b);
}

static void test_buf_printf_long(void **state)
{
	(void)state;
	struct fp_buf b;
	fp_buf_init(&b, 1 << 20);
	char big[2000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(fp_buf_printf(&b, "<%s>", big), 0);
	assert_int_equal(b.len, sizeof big + 1);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[b.len - 1], '>');
	fp_buf_free(&b);
}

static void test_read_file_cap(void **state)
{
	(void)state;
	char p[128];
	snprintf(p, sizeof p, "%s/f", dir);
	struct fp_err err;
	assert_int_equal(fp_write_file_atomic(p, "0123456789", 10, &err), 0);
	char *data;
	size_t len;
	assert_int_equal(fp_read_file(p, 10, &data, &len, &err), 0);
	assert_int_equal(len, 10);
	assert_string_equal(data, "0123456789");
	free(data);
	assert_int_equal(fp_read_file(p, 9, &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "larger than 9 bytes"));
	snprintf(p, sizeof p, "%s/missing", dir);
	assert_int_equal(fp_read_file(p, 9, &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "cannot open"));
}

/* The atomic write leaves no temporary behind and replaces, not appends. */
static void test_write_atomic_replaces(void **state)
{
	(void)state;
	char p[128];
	snprintf(p, sizeof p, "%s/w", dir);
	struct fp_err err;
	assert_int_equal(fp_write_file_atomic(p, "long content", 12, &err), 0);
	assert_int_equal(fp_write_file_atomic(p, "short", 5, &err), 0);
	char *data;
	assert_int_equal(fp_read_file(p, 100, &data, NULL, &err), 0);
	assert_string_equal(data, "short");
	free(data);
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
	assert_int_equal(access(tmp, F_OK), -1);
	/* A symlink at the temporary name is not followed. */
	char target[128];
	snprintf(target, sizeof target, "%s/target", dir);
	assert_int_equal(symlink(target, tmp), 0);
	assert_int_equal(fp_write_file_atomic(p, "x", 1, &err), -1);
	assert_int_equal(access(target, F_OK), -1);
	unlink(tmp);
}

static void test_mkdirs(void **state)
{
	(void)state;
	char p[128];
	struct fp_err err;
	snprintf(p, sizeof p, "%s/a/b/c", dir);
	assert_int_equal(fp_mkdirs(p, &err), 0);
	assert_int_equal(fp_mkdirs(p, &err), 0); /* existing is fine */
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	snprintf(p, sizeof p, "%s/file", dir);
	assert_int_equal(fp_write_file_atomic(p, "x", 1, &err), 0);
	snprintf(p, sizeof p, "%s/file/sub", dir);
	assert_int_equal(fp_mkdirs(p, &err), -1);
}

/* Removal never follows a symlink out of the tree. */
static void test_remove_tree_no_follow(void **state)
{
	(void)state;
	char outside[128], tree[128], p[192];
	struct fp_err err;
	snprintf(outside, sizeof outside, "%s/outside", dir);
	snprintf(tree, sizeof tree, "%s/tree", dir);
	assert_int_equal(fp_mkdirs(outside, &err), 0);
	snprintf(p, sizeof p, "%s/keep", outside);
	assert_int_equal(fp_write_file_atomic(p, "keep", 4, &err), 0);
	snprintf(p, sizeof p, "%s/x/y", tree);
	assert_int_equal(fp_mkdirs(p, &err), 0);
	snprintf(p, sizeof p, "%s/x/link", tree);
	assert_int_equal(symlink(outside, p), 0);
	snprintf(p, sizeof p, "%s/x/y/f", tree);
	assert_int_equal(fp_write_file_atomic(p, "f", 1, &err), 0);
	assert_int_equal(fp_remove_tree(tree), 0);
	assert_int_equal(access(tree, F_OK), -1);
	snprintf(p, sizeof p, "%s/keep", outside);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(fp_remove_tree(tree), 0); /* already gone: fine */
}

static void test_errf_and_time(void **state)
{
	(void)state;
	struct fp_err err;
	assert_int_equal(fp_errf(&err, "cannot open '%s': %s", "x", "nope"), -1);
	assert_string_equal(err.msg, "cannot open 'x': nope");
	assert_int_equal(fp_errf(NULL, "ignored"), -1);
	uint64_t a = fp_now_ms();
	usleep(20000);
	uint64_t b = fp_now_ms();
	assert_true(b >= a + 15 && b < a + 2000);
	assert_true(fp_wall_ms() > 1600000000000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap_truncates),
		cmocka_unit_test(test_buf_printf_long),
		cmocka_unit_test(test_read_file_cap),
		cmocka_unit_test(test_write_atomic_replaces),
		cmocka_unit_test(test_mkdirs),
		cmocka_unit_test(test_remove_tree_no_follow),
		cmocka_unit_test(test_errf_and_time),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
