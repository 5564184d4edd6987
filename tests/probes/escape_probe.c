/* escape_probe.c - attacks on the box's own pid 1, the other ABIs, socket
 * families and the network namespace, run from inside a box by the
 * tests/integration/escape_*.sh tests. One NAME=RESULT line per probe;
 * RESULT is "ok" when the attack worked (or the control succeeded), an
 * errno name when the kernel or the seccomp filter refused it, or
 * "signal<N>" when the probe's child died of signal N. Each probe runs in
 * a child of its own, so a probe killed by seccomp does not end the rest.
 *
 *   escape_probe PROBE...
 * Probes:
 *   native, int80, x32       getpid through the native, i386 and x32 ABIs
 *   ptrace_init, vm_read_init, mem_init, environ_init, fd_init, root_init,
 *   cwd_init, prlimit_init, pidfd_getfd_init
 *                            attacks on pid 1 (the box's init)
 *   kill_init                SIGKILL to pid 1: "survived" when it is dropped
 *   nice_init, sched_idle_init, affinity_init
 *                            scheduling changes to pid 1 (same uid as init)
 *   fds                      the fds a command starts with ("fds=0,1,2")
 *   tty                      open("/dev/tty")
 *   sethostname, setdomainname
 *   af_<N>                   socket(N, SOCK_STREAM or SOCK_DGRAM, 0)
 *   vsock                    socket(AF_VSOCK, SOCK_STREAM, 0)
 *   abstract:NAME            connect to the abstract unix socket @NAME
 *   abstract_self            bind @fp-self-PID and connect to it (control)
 *   mbind, migrate_pages, move_pages, set_mempolicy
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAD_PTR ((void *)8)
#define X32_BIT 0x40000000L

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static long open_close(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return fd;
}

/* getpid through the i386 entry point: eax 20 is i386 getpid. */
static long try_int80(void)
{
#if defined(__x86_64__)
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
#else
	errno = ENOSYS;
	return -3;
#endif
}

static long try_x32(void)
{
#if defined(__x86_64__)
	return syscall(X32_BIT | SYS_getpid);
#else
	errno = ENOSYS;
	return -3;
#endif
}

static long try_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int own = dirfd(d);
	char list[256] = "";
	size_t n = 0;
	struct dirent *e;
	int fds[64], nfd = 0;
	while ((e = readdir(d)) && nfd < 64) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == own)
			continue;
		fds[nfd++] = atoi(e->d_name);
	}
	closedir(d);
	for (int i = 0; i < nfd; i++)
		for (int j = i + 1; j < nfd; j++)
			if (fds[j] < fds[i]) {
				int t = fds[i];
				fds[i] = fds[j];
				fds[j] = t;
			}
	for (int i = 0; i < nfd && n + 12 < sizeof list; i++)
		n += (size_t)snprintf(list + n, sizeof list - n, "%s%d",
		                      i ? "," : "", fds[i]);
	printf("fds=%s\n", list);
	return -4; /* already printed */
}

static long try_socket_family(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && (errno == ESOCKTNOSUPPORT || errno == EPROTONOSUPPORT ||
	               errno == EOPNOTSUPP || errno == EPROTOTYPE))
		fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && (errno == ESOCKTNOSUPPORT || errno == EPROTONOSUPPORT ||
	               errno == EOPNOTSUPP || errno == EPROTOTYPE))
		fd = socket(family, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		close(fd);
	return fd;
}

static long try_abstract(const char *name)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	size_t n = strlen(name);
	if (n + 1 > sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path + 1, name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc = connect(fd, (struct sockaddr *)&sa, len);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static long try_abstract_self(void)
{
	char name[64];
	snprintf(name, sizeof name, "fp-self-%d", (int)getpid());
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name, strlen(name));
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	                            strlen(name));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 1) < 0)
		return -1;
	long rc = try_abstract(name);
	close(fd);
	return rc;
}

/* After SIGKILL (dropped by the kernel for a namespace's init) pid 1
 * must still exist. */
static long try_kill_init(void)
{
	if (kill(1, SIGKILL) < 0)
		return -1;
	usleep(100000);
	if (kill(1, 0) < 0)
		return 0; /* init is gone: the attack worked */
	errno = ESRCH;
	return -5;
}

static long try_pidfd_getfd_init(void)
{
	int pfd = (int)syscall(SYS_pidfd_open, 1, 0);
	if (pfd < 0)
		return -1;
	long fd = syscall(SYS_pidfd_getfd, pfd, 3, 0);
	int e = errno;
	close(pfd);
	errno = e;
	if (fd >= 0)
		close((int)fd);
	return fd;
}

static long try_init(const char *name)
{
	if (!strcmp(name, "ptrace_init"))
		return ptrace(PTRACE_ATTACH, 1, 0, 0);
	if (!strcmp(name, "vm_read_init")) {
		char buf[8];
		struct iovec l = { buf, sizeof buf }, r = { (void *)0x400000, sizeof buf };
		return syscall(SYS_process_vm_readv, 1, &l, 1UL, &r, 1UL, 0UL);
	}
	if (!strcmp(name, "mem_init"))
		return open_close("/proc/1/mem", O_RDONLY);
	if (!strcmp(name, "environ_init"))
		return open_close("/proc/1/environ", O_RDONLY);
	if (!strcmp(name, "fd_init"))
		return open_close("/proc/1/fd/3", O_RDWR);
	if (!strcmp(name, "root_init"))
		return open_close("/proc/1/root/", O_RDONLY | O_DIRECTORY);
	if (!strcmp(name, "cwd_init"))
		return open_close("/proc/1/cwd/", O_RDONLY | O_DIRECTORY);
	if (!strcmp(name, "prlimit_init")) {
		struct rlimit r = { 3, 3 };
		return syscall(SYS_prlimit64, 1, RLIMIT_NOFILE, &r, NULL);
	}
	if (!strcmp(name, "kill_init"))
		return try_kill_init();
	if (!strcmp(name, "nice_init"))
		return setpriority(PRIO_PROCESS, 1, 19);
	if (!strcmp(name, "sched_idle_init")) {
		struct sched_param sp = { 0 };
		return sched_setscheduler(1, SCHED_IDLE, &sp);
	}
	if (!strcmp(name, "affinity_init")) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		return sched_setaffinity(1, sizeof set, &set);
	}
	if (!strcmp(name, "pidfd_getfd_init"))
		return try_pidfd_getfd_init();
	errno = ENOENT;
	return -2;
}

static long try_call(const char *name)
{
	if (!strcmp(name, "native"))
		return syscall(SYS_getpid);
	if (!strcmp(name, "int80"))
		return try_int80();
	if (!strcmp(name, "x32"))
		return try_x32();
	if (!strcmp(name, "fds"))
		return try_fds();
	if (!strcmp(name, "tty"))
		return open_close("/dev/tty", O_RDWR | O_NOCTTY);
	if (!strcmp(name, "sethostname"))
		return sethostname("evil", 4);
	if (!strcmp(name, "setdomainname"))
		return setdomainname("evil", 4);
	if (!strcmp(name, "vsock"))
		return try_socket_family(AF_VSOCK);
	if (!strncmp(name, "af_", 3))
		return try_socket_family(atoi(name + 3));
	if (!strncmp(name, "abstract:", 9))
		return try_abstract(name + 9);
	if (!strcmp(name, "abstract_self"))
		return try_abstract_self();
	if (!strcmp(name, "mbind"))
		return syscall(SYS_mbind, BAD_PTR, 4096UL, 0, NULL, 0UL, 0U);
	if (!strcmp(name, "migrate_pages"))
		return syscall(SYS_migrate_pages, 0, 0UL, BAD_PTR, BAD_PTR);
	if (!strcmp(name, "move_pages"))
		return syscall(SYS_move_pages, 0, 1UL, BAD_PTR, NULL, BAD_PTR, 0);
	if (!strcmp(name, "set_mempolicy"))
		return syscall(SYS_set_mempolicy, 0x7fff, NULL, 0UL);
	return try_init(name);
}

static void report(const char *name)
{
	errno = 0;
	long r = try_call(name);
	if (r == -4)
		return;
	if (r == -2 && errno == ENOENT) {
		printf("%s=UNKNOWN_PROBE\n", name);
	} else if (r == -3) {
		printf("%s=unsupported\n", name);
	} else if (r == -5) {
		printf("%s=survived\n", name);
	} else if (r >= 0) {
		printf("%s=ok\n", name);
	} else {
		const char *en = strerrorname_np(errno);
		if (en)
			printf("%s=%s\n", name, en);
		else
			printf("%s=errno%d\n", name, errno);
	}
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			printf("%s=fork_failed\n", argv[i]);
			continue;
		}
		if (pid == 0) {
			report(argv[i]);
			fflush(stdout);
			_exit(0);
		}
		int st;
		if (waitpid(pid, &st, 0) < 0)
			printf("%s=wait_failed\n", argv[i]);
		else if (WIFSIGNALED(st))
			printf("%s=signal%d\n", argv[i], WTERMSIG(st));
	}
	fflush(stdout);
	return 0;
}
