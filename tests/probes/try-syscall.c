/* try-syscall.c - call syscalls with harmless or invalid arguments and say
 * what the kernel (or the seccomp filter) answered, one NAME=RESULT a line.
 *
 * In the spirit of bubblewrap's tests/try-syscall.c: arguments are chosen so
 * that a syscall that reaches the kernel fails on its own (EFAULT from a bad
 * pointer, EINVAL from a bad flag, EBADF from fd -1) without side effects,
 * while a syscall stopped by seccomp fails with the filter's errno (EPERM).
 * RESULT is "ok" when the call succeeded, else the errno's name. Each
 * call runs in a child of its own, so one success cannot affect the next.
 *
 *   try-syscall ptrace mount unshare_user ...     (names listed in CALLS)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

/* An address that is never mapped (the zero page, past the first byte). */
#define BAD_PTR ((void *)8)

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_userfaultfd
#define SYS_userfaultfd 323
#endif
#define UFFD_USER_MODE_ONLY_FLAG 1

static long try_clone_newuser(void)
{
	/* Raw clone: glibc's wrapper wants a stack; flags without CLONE_VM
	 * behave like fork. A child that exists exits at once. */
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD),
	                   0UL, 0UL, 0UL, 0UL);
	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		int st;
		waitpid((pid_t)pid, &st, 0);
		return 0;
	}
	return -1;
}

static long try_process_vm_readv(void)
{
	struct iovec local = { BAD_PTR, 1 };
	struct iovec remote = { BAD_PTR, 1 };
	return syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote,
	               1UL, 0UL);
}

static long try_call(const char *name)
{
	if (!strcmp(name, "getpid"))
		return syscall(SYS_getpid);
	if (!strcmp(name, "chdir"))
		return syscall(SYS_chdir, BAD_PTR);
	if (!strcmp(name, "ptrace"))
		return syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
	if (!strcmp(name, "mount"))
		return syscall(SYS_mount, BAD_PTR, BAD_PTR, BAD_PTR, 0UL, BAD_PTR);
	if (!strcmp(name, "umount2"))
		return syscall(SYS_umount2, BAD_PTR, 0);
	if (!strcmp(name, "pivot_root"))
		return syscall(SYS_pivot_root, BAD_PTR, BAD_PTR);
	if (!strcmp(name, "chroot"))
		return syscall(SYS_chroot, BAD_PTR);
	if (!strcmp(name, "unshare_user"))
		return syscall(SYS_unshare, CLONE_NEWUSER);
	if (!strcmp(name, "unshare_net"))
		return syscall(SYS_unshare, CLONE_NEWNET);
	if (!strcmp(name, "unshare_mount"))
		return syscall(SYS_unshare, CLONE_NEWNS);
	if (!strcmp(name, "setns"))
		return syscall(SYS_setns, -1, 0);
	if (!strcmp(name, "clone_newuser"))
		return try_clone_newuser();
	if (!strcmp(name, "clone3"))
		return syscall(SYS_clone3, BAD_PTR, 64UL);
	if (!strcmp(name, "keyctl"))
		return syscall(SYS_keyctl, 0x7fff, 0UL, 0UL, 0UL, 0UL);
	if (!strcmp(name, "add_key"))
		return syscall(SYS_add_key, BAD_PTR, BAD_PTR, BAD_PTR, 0UL, 0UL);
	if (!strcmp(name, "request_key"))
		return syscall(SYS_request_key, BAD_PTR, BAD_PTR, BAD_PTR, 0UL);
	if (!strcmp(name, "bpf"))
		return syscall(SYS_bpf, 0x7fff, BAD_PTR, 0UL);
	if (!strcmp(name, "perf_event_open"))
		return syscall(SYS_perf_event_open, BAD_PTR, 0, -1, -1, 0UL);
	if (!strcmp(name, "userfaultfd"))
		return syscall(SYS_userfaultfd, UFFD_USER_MODE_ONLY_FLAG | 0x40000000);
	if (!strcmp(name, "kexec_load"))
		/* 0 segments would unload a loaded image: ask for too many
		 * segments with unknown flags, which is EINVAL if it gets in. */
		return syscall(SYS_kexec_load, 0UL, 1000UL, BAD_PTR, 0x7fff0000UL);
	if (!strcmp(name, "init_module"))
		return syscall(SYS_init_module, BAD_PTR, 0UL, BAD_PTR);
	if (!strcmp(name, "finit_module"))
		return syscall(SYS_finit_module, -1, BAD_PTR, 0);
	if (!strcmp(name, "reboot"))
		/* magic2 is wrong on purpose: if the call got through it would
		 * fail with EINVAL before looking at the command. */
		return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, 0x12345678,
		               LINUX_REBOOT_CMD_CAD_OFF, NULL);
	if (!strcmp(name, "swapon"))
		return syscall(SYS_swapon, "/nonexistent-fp-swap", 0);
	if (!strcmp(name, "ioctl_tiocsti"))
		return syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI, BAD_PTR);
	if (!strcmp(name, "socket_packet"))
		return syscall(SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (!strcmp(name, "socket_raw"))
		return syscall(SYS_socket, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (!strcmp(name, "socket_inet"))
		return syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	if (!strcmp(name, "io_uring_setup"))
		return syscall(SYS_io_uring_setup, 1U, BAD_PTR);
	if (!strcmp(name, "open_by_handle_at"))
		return syscall(SYS_open_by_handle_at, -1, BAD_PTR, 0);
	if (!strcmp(name, "process_vm_readv"))
		return try_process_vm_readv();
	if (!strcmp(name, "personality"))
		/* 0xffffffff only queries the current persona. */
		return syscall(SYS_personality, 0xffffffffUL);
	if (!strcmp(name, "acct"))
		return syscall(SYS_acct, BAD_PTR);
	errno = ENOENT; /* unknown probe name */
	return -2;
}

static void report(const char *name)
{
	errno = 0;
	long r = try_call(name);
	if (r == -2 && errno == ENOENT) {
		printf("%s=UNKNOWN_PROBE\n", name);
	} else if (r >= 0) {
		printf("%s=ok\n", name);
	} else {
		const char *en = strerrorname_np(errno);
		if (en)
			printf("%s=%s\n", name, en);
		else
			printf("%s=errno%d\n", name, errno);
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	/* Each call runs in its own child: a call that succeeds (unshare,
	 * ptrace) must not change what the next one sees. */
	for (int i = 1; i < argc; i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			printf("%s=fork_failed\n", argv[i]);
			continue;
		}
		if (pid == 0) {
			report(argv[i]);
			_exit(0);
		}
		int st;
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
			printf("%s=CRASHED\n", argv[i]);
	}
	return 0;
}
