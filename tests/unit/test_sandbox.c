/* test_sandbox.c - the sandbox library through its public API, on real
 * namespaces: lifecycle, events, sharing one box between commands, the
 * socket and file helpers, and spec validation. Attacks on a box live in
 * tests/integration (they go through `firstpass sandbox`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

static const char *const env[] = { "PATH=/usr/bin:/bin", "HOME=/tmp", NULL };

static struct sbx_spec *base_spec(void)
{
	struct sbx_error err;
	struct sbx_spec *s = sbx_spec_new();
	assert_non_null(s);
	static const char *const ro[] = { "/usr", "/bin", "/lib", "/sbin" };
	for (size_t i = 0; i < sizeof ro / sizeof *ro; i++)
		assert_int_equal(sbx_spec_bind(s, ro[i], ro[i], 0, &err), 0);
	assert_int_equal(sbx_spec_bind(s, "/lib64", "/lib64", SBX_BIND_OPTIONAL, &err), 0);
	assert_int_equal(sbx_spec_bind(s, "/etc/ld.so.cache", "/etc/ld.so.cache", 0, &err), 0);
	struct sbx_limits l = { .memory_bytes = 256u << 20, .pids = 32 };
	sbx_spec_limits(s, &l);
	assert_int_equal(sbx_spec_seccomp_rule(s, "ptrace", SBX_ACT_ERRNO, EPERM,
	                                       NULL, 0, false, &err), 0);
	return s;
}

static struct sbx_box *make_box(struct sbx_spec *s)
{
	struct sbx_error err;
	struct sbx_box *b = sbx_box_create(s, &err);
	if (!b)
		fail_msg("cannot create box: %s", err.msg);
	return b;
}

/* Runs argv in |b| and waits for its exit status (stdout to |out_fd|). */
static int run_in(struct sbx_box *b, const char *const *argv, int out_fd)
{
	struct sbx_error err;
	struct sbx_cmd c = { .argv = argv, .envp = env, .stdin_fd = -1,
	                     .stdout_fd = out_fd, .stderr_fd = -1 };
	int id;
	assert_int_equal(sbx_box_spawn(b, &c, &id, &err), 0);
	for (;;) {
		struct sbx_event ev;
		int rc = sbx_box_wait_event(b, &ev, 10000);
		assert_int_equal(rc, 1);
		if (ev.proc_id != id)
			continue;
		if (ev.type == SBX_EV_SPAWN_FAILED)
			return -ev.errnum;
		if (ev.type == SBX_EV_EXITED)
			return ev.status;
	}
}

static void read_all(int fd, char *buf, size_t n)
{
	size_t off = 0;
	ssize_t r;
	while (off + 1 < n && (r = read(fd, buf + off, n - 1 - off)) > 0)
		off += (size_t)r;
	buf[off] = '\0';
}

static void test_exit_status_and_output(void **state)
{
	(void)state;
	struct sbx_spec *s = base_spec();
	struct sbx_box *b = make_box(s);
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	const char *const argv[] = { "/bin/sh", "-c", "id -u; exit 7", NULL };
	int st = run_in(b, argv, p[1]);
	close(p[1]);
	char out[64];
	read_all(p[0], out, sizeof out);
	close(p[0]);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
	assert_string_equal(out, "1000\n");
	struct sbx_usage u;
	assert_int_equal(sbx_box_finish(b, &u), 0);
	sbx_box_free(b);
	sbx_spec_free(s);
}

static void test_exec_failure_is_reported(void **state)
{
	(void)state;
	struct sbx_spec *s = base_spec();
	struct sbx_box *b = make_box(s);
	const char *const argv[] = { "/no/such/program", NULL };
	assert_int_equal(run_in(b, argv, -1), -ENOENT);
	/* The box is still usable after a failed spawn. */
	const char *const ok[] = { "/bin/true", NULL };
	int st = run_in(b, ok, -1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sbx_box_free(b);
	sbx_spec_free(s);
}

/* A server started by one command is reachable from the next one and,
 * through sbx_box_socket, from the keeper; the host's port 8000 is not
 * involved (the host may even listen on it itself). */
static void test_commands_share_network(void **state)
{
	(void)state;
	struct sbx_spec *s = base_spec();
	struct sbx_box *b = make_box(s);
	struct sbx_error err;
	assert_int_equal(sbx_box_listening(b, 8000), 0);
	const char *const srv[] = { "/usr/bin/python3", "-c",
		"import socket\ns=socket.socket()\ns.bind(('127.0.0.1',8000))\n"
		"s.listen()\nwhile True:\n c,_=s.accept()\n c.sendall(b'hi')\n c.close()\n",
		NULL };
	struct sbx_cmd c = { .argv = srv, .envp = env, .stdin_fd = -1,
	                     .stdout_fd = -1, .stderr_fd = -1 };
	int id;
	assert_int_equal(sbx_box_spawn(b, &c, &id, &err), 0);
	int listening = 0;
	for (int i = 0; i < 500 && !listening; i++) {
		listening = sbx_box_listening(b, 8000) == 1;
		if (!listening)
			usleep(10000);
	}
	assert_true(listening);
	int fd = sbx_box_socket(b, AF_INET, SOCK_STREAM, &err);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(8000) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	char buf[8];
	read_all(fd, buf, sizeof buf);
	assert_string_equal(buf, "hi");
	close(fd);
	const char *const cli[] = { "/usr/bin/python3", "-c",
		"import socket\ns=socket.create_connection(('127.0.0.1',8000))\n"
		"assert s.recv(2)==b'hi'\n", NULL };
	int st = run_in(b, cli, -1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sbx_box_free(b);
	sbx_spec_free(s);
}

/* sbx_box_open must not follow a symlink out of the box's root. */
static void test_open_stays_inside(void **state)
{
	(void)state;
	char ws[] = "/tmp/fp-test-ws-XXXXXX";
	assert_non_null(mkdtemp(ws));
	struct sbx_spec *s = base_spec();
	struct sbx_error err;
	assert_int_equal(sbx_spec_workspace(s, ws, "/work", SBX_WS_COPY, &err), 0);
	struct sbx_box *b = make_box(s);
	const char *const argv[] = { "/bin/sh", "-c",
		"echo inside > /tmp/real && ln -s /etc/hostname /tmp/abs && "
		"ln -s ../../../../etc/hostname /tmp/rel && ln -s real /tmp/link", NULL };
	int st = run_in(b, argv, -1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	int fd = sbx_box_open(b, "/tmp/real", &err);
	assert_true(fd >= 0);
	char buf[64];
	read_all(fd, buf, sizeof buf);
	close(fd);
	assert_string_equal(buf, "inside\n");
	/* Final component a symlink: refused, wherever it points. */
	assert_int_equal(sbx_box_open(b, "/tmp/link", &err), -1);
	assert_int_equal(sbx_box_open(b, "/tmp/abs", &err), -1);
	/* Through the root: /etc/hostname of the box does not exist, and the
	 * host's must not be reached by "..". */
	assert_int_equal(sbx_box_open(b, "/tmp/../../../etc/hostname", &err), -1);
	sbx_box_free(b);
	sbx_spec_free(s);
	assert_int_equal(fp_remove_tree(ws), 0);
}

/* Writes in a copy workspace never reach the host directory. */
static void test_copy_workspace_discards_writes(void **state)
{
	(void)state;
	char ws[] = "/tmp/fp-test-ws-XXXXXX";
	assert_non_null(mkdtemp(ws));
	assert_int_equal(chmod(ws, 0755), 0); /* the box's uid reads it */
	char f[128];
	snprintf(f, sizeof f, "%s/in.txt", ws);
	FILE *fp = fopen(f, "w");
	assert_non_null(fp);
	fputs("hello\n", fp);
	fclose(fp);
	struct sbx_spec *s = base_spec();
	struct sbx_error err;
	assert_int_equal(sbx_spec_workspace(s, ws, "/work", SBX_WS_COPY, &err), 0);
	struct sbx_box *b = make_box(s);
	const char *const argv[] = { "/bin/sh", "-c",
		"grep -q hello in.txt && echo x > in.txt && touch new.txt", NULL };
	int st = run_in(b, argv, -1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sbx_box_free(b);
	snprintf(f, sizeof f, "%s/new.txt", ws);
	assert_int_equal(access(f, F_OK), -1);
	char *data;
	snprintf(f, sizeof f, "%s/in.txt", ws);
	assert_int_equal(fp_read_file(f, 100, &data, NULL, NULL), 0);
	assert_string_equal(data, "hello\n");
	free(data);
	sbx_spec_free(s);
	assert_int_equal(fp_remove_tree(ws), 0);
}

/* Finishing kills what the commands left running, daemons included. */
static void test_finish_kills_daemons(void **state)
{
	(void)state;
	struct sbx_spec *s = base_spec();
	struct sbx_box *b = make_box(s);
	const char *const argv[] = { "/bin/sh", "-c",
		"(setsid sleep 1000 &); (sleep 1000 &); exit 0", NULL };
	int st = run_in(b, argv, -1);
	assert_true(WIFEXITED(st));
	uid_t uid = sbx_box_host_uid(b);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "ps -o pid= -u %u | grep -q .", (unsigned)uid);
	if (geteuid() == 0)
		assert_int_equal(system(cmd), 0); /* the daemons run */
	struct sbx_usage u;
	sbx_box_finish(b, &u);
	assert_true(u.init_killed);
	if (geteuid() == 0)
		assert_int_not_equal(system(cmd), 0); /* and are gone */
	sbx_box_free(b);
	sbx_spec_free(s);
}

static void test_spec_validation(void **state)
{
	(void)state;
	struct sbx_spec *s = sbx_spec_new();
	struct sbx_error err;
	assert_int_equal(sbx_spec_bind(s, "usr", "/usr", 0, &err), -1);
	assert_int_equal(sbx_spec_bind(s, "/usr", "/a/../b", 0, &err), -1);
	assert_int_equal(sbx_spec_bind(s, "/usr", "/", 0, &err), -1);
	assert_int_equal(sbx_spec_tmpfs(s, "/x", 0, &err), -1);
	assert_int_equal(sbx_spec_seccomp_rule(s, "no_such_syscall", SBX_ACT_ERRNO,
	                                       0, NULL, 0, false, &err), -1);
	assert_non_null(strstr(err.msg, "no_such_syscall"));
	assert_int_equal(sbx_spec_seccomp_rule(s, "no_such_syscall", SBX_ACT_ERRNO,
	                                       0, NULL, 0, true, &err), 0);
	assert_int_equal(sbx_spec_uid(s, 0), -1);
	assert_true(sbx_syscall_known("ptrace"));
	assert_false(sbx_syscall_known("ptracex"));
	sbx_spec_free(s);
}

/* The deny rule of the spec is in force (EPERM, not a crash). */
static void test_seccomp_rule_applies(void **state)
{
	(void)state;
	struct sbx_spec *s = base_spec();
	struct sbx_box *b = make_box(s);
	const char *const argv[] = { "/usr/bin/python3", "-c",
		"import ctypes,sys\nlibc=ctypes.CDLL(None,use_errno=True)\n"
		"r=libc.ptrace(0,0,0,0)\nsys.exit(0 if r==-1 and ctypes.get_errno()==1 else 3)\n",
		NULL };
	int st = run_in(b, argv, -1);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	sbx_box_free(b);
	sbx_spec_free(s);
}

int main(void)
{
	struct sbx_error err;
	if (sbx_probe_host(&err) < 0) {
		fprintf(stderr, "skip: %s\n", err.msg);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status_and_output),
		cmocka_unit_test(test_exec_failure_is_reported),
		cmocka_unit_test(test_commands_share_network),
		cmocka_unit_test(test_open_stays_inside),
		cmocka_unit_test(test_copy_workspace_discards_writes),
		cmocka_unit_test(test_finish_kills_daemons),
		cmocka_unit_test(test_spec_validation),
		cmocka_unit_test(test_seccomp_rule_applies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
