/* init.c - pid 1 of a box.
 *
 * Theory of operation. Three kinds of process take part:
 *   keeper  the firstpass process outside (box.c); owns the box;
 *   init    this code: forked (clone) from the keeper into new user, mount,
 *           pid, net, ipc and uts namespaces; it builds the root filesystem,
 *           brings up loopback, then serves the keeper's requests;
 *   command a process init forks for each SPAWN request; it drops every
 *           privilege and execs the requested program.
 * Keeper and init talk over one SOCK_SEQPACKET socketpair (messages keep
 * their boundaries; file descriptors travel as SCM_RIGHTS). EOF on it means
 * the keeper is gone: init exits, and the kernel kills everything else in
 * the pid namespace. PR_SET_PDEATHSIG covers a keeper killed by SIGKILL.
 * A command reports setup failures as {step, errno} on a close-on-exec
 * pipe; EOF on that pipe means exec happened.
 *
 * Init is a fork of a process that may have other threads (libcurl's
 * resolver), so everything here is async-signal-safe: system calls, static
 * buffers, no malloc, no stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

static const struct sbx_init_args *A;
static int g_ctl = 3;
static struct { int id; pid_t pid; } g_procs[SBX_MAX_PROCS];
static char g_req[sizeof(struct sbx_msg) + SBX_MAX_CMD_BYTES + 1];
static char *g_argv[SBX_MAX_ARGS + 1];
static char *g_envp[SBX_MAX_ARGS + 1];

/* Steps a command can fail at before exec; names are in box.c. */
enum { ST_SETSID = 1, ST_FDS, ST_RLIMIT, ST_CHDIR, ST_CAPBOUND, ST_GROUPS,
       ST_SETGID, ST_SETUID, ST_CAPS, ST_NNP, ST_SECCOMP, ST_EXEC };

static void copy_text(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < n; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

static void send_msg(struct sbx_msg *m, int pass_fd)
{
	struct iovec iov = { .iov_base = m, .iov_len = sizeof *m };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (pass_fd >= 0) {
		memset(&u, 0, sizeof u);
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof u.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	while (sendmsg(g_ctl, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

__attribute__((noreturn))
static void setup_failed(const char *step, const char *path, int e)
{
	struct sbx_msg m;
	memset(&m, 0, sizeof m);
	m.type = SBX_MSG_SETUP_ERR;
	m.errnum = e;
	copy_text(m.text, 64, step);
	copy_text(m.text + 64, sizeof m.text - 64, path);
	send_msg(&m, -1);
	_exit(1);
}

__attribute__((noreturn))
static void child_failed(int fd, int step)
{
	int rep[2] = { step, errno };
	ssize_t n = write(fd, rep, sizeof rep);
	(void)n;
	_exit(127);
}

static void exec_search(char *const argv[], char *const envp[])
{
	const char *file = argv[0];
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return;
	}
	const char *path = "/usr/local/bin:/usr/bin:/bin";
	for (int i = 0; envp[i]; i++)
		if (!strncmp(envp[i], "PATH=", 5))
			path = envp[i] + 5;
	char buf[4096];
	size_t fl = strlen(file);
	int last = ENOENT;
	while (*path) {
		const char *end = strchr(path, ':');
		size_t dl = end ? (size_t)(end - path) : strlen(path);
		if (dl && dl + fl + 2 <= sizeof buf) {
			char *o = mempcpy(buf, path, dl);
			*o++ = '/';
			memcpy(o, file, fl + 1);
			execve(buf, argv, envp);
			if (errno != ENOENT && errno != ENOTDIR)
				last = errno;
		}
		path += dl + (end ? 1 : 0);
	}
	errno = last;
}

/* The command process: from init's privileges down to nothing, then exec. */
__attribute__((noreturn))
static void exec_child(const int fds[3], int errfd, const char *cwd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Own session and process group: SIGNAL requests hit the group. */
	if (setsid() < 0)
		child_failed(errfd, ST_SETSID);
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			child_failed(errfd, ST_FDS);
	if (errfd != 3 && dup3(errfd, 3, O_CLOEXEC) < 0)
		child_failed(errfd, ST_FDS);
	errfd = 3;
	if (syscall(SYS_close_range, 4u, ~0u, 0u) < 0)
		child_failed(errfd, ST_FDS);
	for (int i = 0; i < A->nrl; i++) {
		struct rlimit r = { A->rl[i].value, A->rl[i].value };
		if (setrlimit(A->rl[i].resource, &r) < 0)
			child_failed(errfd, ST_RLIMIT);
	}
	if (chdir(cwd) < 0)
		child_failed(errfd, ST_CHDIR);
	if (sbx_caps_drop_bounding() < 0)
		child_failed(errfd, ST_CAPBOUND);
	/* Supplementary groups can only be dropped where the keeper was root
	 * (an unprivileged keeper had to deny setgroups in the namespace). */
	if (A->root_mode && setgroups(0, NULL) < 0)
		child_failed(errfd, ST_GROUPS);
	uid_t u = A->spec->uid;
	if (setresgid(u, u, u) < 0)
		child_failed(errfd, ST_SETGID);
	if (setresuid(u, u, u) < 0)
		child_failed(errfd, ST_SETUID);
	if (sbx_caps_clear(A->empty_caps) < 0)
		child_failed(errfd, ST_CAPS);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_failed(errfd, ST_NNP);
	if (A->spec->bpf) {
		struct sock_fprog prog = { A->spec->bpf_len, A->spec->bpf };
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			child_failed(errfd, ST_SECCOMP);
	}
	exec_search(g_argv, g_envp);
	child_failed(errfd, ST_EXEC);
}

static int track(int id, pid_t pid)
{
	for (int i = 0; i < SBX_MAX_PROCS; i++) {
		if (g_procs[i].pid == 0) {
			g_procs[i].id = id;
			g_procs[i].pid = pid;
			return 0;
		}
	}
	return -1;
}

/* Splits the SPAWN payload "argv\0...env\0...cwd\0" into the arrays. */
static const char *unpack(const struct sbx_msg *m, const char *p,
                          const char *end)
{
	int argc = m->arg1, envc = m->arg2;
	if (argc < 1 || envc < 0 || argc > SBX_MAX_ARGS || envc > SBX_MAX_ARGS)
		return NULL;
	for (int i = 0; i < argc + envc + 1; i++) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		if (!z)
			return NULL;
		if (i < argc)
			g_argv[i] = (char *)p;
		else if (i < argc + envc)
			g_envp[i - argc] = (char *)p;
		else
			return p; /* cwd */
		p = z + 1;
	}
	return NULL;
}

static void do_spawn(const struct sbx_msg *m, size_t len, const int fds[3])
{
	struct sbx_msg r;
	memset(&r, 0, sizeof r);
	r.id = m->id;
	r.type = SBX_MSG_SPAWN_FAILED;
	const char *cwd = unpack(m, g_req + sizeof *m, g_req + len);
	if (!cwd) {
		r.errnum = EINVAL;
		copy_text(r.text, sizeof r.text, "bad spawn request");
		send_msg(&r, -1);
		return;
	}
	g_argv[m->arg1] = NULL;
	g_envp[m->arg2] = NULL;
	if (!*cwd)
		cwd = A->spec->ws_mode != SBX_WS_NONE ? A->spec->ws_inside : "/";
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r.errnum = errno;
		send_msg(&r, -1);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		exec_child(fds, pfd[1], cwd);
	}
	close(pfd[1]);
	int rep[2] = { 0, 0 };
	ssize_t n = pid < 0 ? -1 : 0;
	if (pid > 0)
		while ((n = read(pfd[0], rep, sizeof rep)) < 0 && errno == EINTR)
			;
	close(pfd[0]);
	if (pid < 0 || n != 0) {
		r.errnum = pid < 0 ? errno : rep[1];
		r.status = pid < 0 ? 0 : rep[0];
		if (pid > 0)
			waitpid(pid, NULL, __WALL);
		send_msg(&r, -1);
		return;
	}
	if (track(m->id, pid) < 0) {
		kill(pid, SIGKILL);
		r.errnum = EMFILE;
		send_msg(&r, -1);
		return;
	}
	r.type = SBX_MSG_SPAWNED;
	r.pid = pid;
	send_msg(&r, -1);
}

static void do_signal(const struct sbx_msg *m)
{
	for (int i = 0; i < SBX_MAX_PROCS; i++) {
		if (g_procs[i].pid && g_procs[i].id == m->id) {
			kill(-g_procs[i].pid, m->status);
			kill(g_procs[i].pid, m->status);
		}
	}
}

static void do_socket(const struct sbx_msg *m)
{
	struct sbx_msg r;
	memset(&r, 0, sizeof r);
	r.id = m->id;
	int fd = socket(m->arg1, m->arg2 | SOCK_CLOEXEC, 0);
	r.type = fd < 0 ? SBX_MSG_SOCKET_ERR : SBX_MSG_SOCKET_OK;
	r.errnum = fd < 0 ? errno : 0;
	send_msg(&r, fd);
	if (fd >= 0)
		close(fd);
}

static void reap(void)
{
	int st;
	struct rusage ru;
	pid_t pid;
	while ((pid = wait4(-1, &st, WNOHANG | __WALL, &ru)) > 0) {
		for (int i = 0; i < SBX_MAX_PROCS; i++) {
			if (g_procs[i].pid != pid)
				continue;
			struct sbx_msg r;
			memset(&r, 0, sizeof r);
			r.type = SBX_MSG_EXITED;
			r.id = g_procs[i].id;
			r.pid = pid;
			r.status = st;
			r.cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u +
			           (uint64_t)ru.ru_utime.tv_usec +
			           (uint64_t)ru.ru_stime.tv_sec * 1000000u +
			           (uint64_t)ru.ru_stime.tv_usec;
			r.maxrss_kb = (uint64_t)ru.ru_maxrss;
			g_procs[i].pid = 0;
			send_msg(&r, -1);
		}
		/* Anything else is an orphan re-parented to us: just reaped. */
	}
}

/* One request from the keeper; returns -1 when the keeper is gone. */
static int serve(void)
{
	int fds[3] = { -1, -1, -1 };
	union { char buf[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr a; } u;
	struct iovec iov = { .iov_base = g_req, .iov_len = sizeof g_req - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	                     .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	ssize_t n = recvmsg(g_ctl, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return -1;
	int nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (nfds > 3)
				nfds = 3;
			memcpy(fds, CMSG_DATA(c), (size_t)nfds * sizeof(int));
		}
	if ((size_t)n < sizeof(struct sbx_msg) || (mh.msg_flags & MSG_TRUNC))
		goto out;
	const struct sbx_msg *m = (const struct sbx_msg *)g_req;
	if (m->type == SBX_MSG_SPAWN && nfds == 3)
		do_spawn(m, (size_t)n, fds);
	else if (m->type == SBX_MSG_SIGNAL)
		do_signal(m);
	else if (m->type == SBX_MSG_SOCKET)
		do_socket(m);
out:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return 0;
}

static void setup(void)
{
	const char *step = "", *path = "";
	/* Become the box's uid now, keeping every capability in the user
	 * namespace: our old uid (host root, or the unprivileged caller) is
	 * not the namespace's root, so the kernel does not clear them. Files
	 * init creates (mount points, /etc files) then have a mapped owner;
	 * an unmapped one makes tmpfs refuse them with EOVERFLOW. */
	uid_t u = A->spec->uid;
	/* A bound workspace must be opened from inside our mount namespace
	 * (a mount of the keeper's cannot be a bind source here) and before
	 * we lose host root's access to, say, a directory below /root. */
	if (A->spec->ws_mode == SBX_WS_RW || A->spec->ws_mode == SBX_WS_RO) {
		int fd = open(A->spec->ws_host, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || (fd != 4 && dup3(fd, 4, O_CLOEXEC) < 0))
			setup_failed("open workspace", A->spec->ws_host, errno);
		if (fd != 4)
			close(fd);
	}
	if (A->root_mode && setgroups(0, NULL) < 0)
		setup_failed("setgroups", "", errno);
	if (setresgid(u, u, u) < 0 || setresuid(u, u, u) < 0)
		setup_failed("set init's uid", "", errno);
	/* A credential change clears the parent-death signal: set it again,
	 * then make sure the keeper did not die in between. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct pollfd hup = { g_ctl, POLLIN, 0 };
	if (poll(&hup, 1, 0) == 1 && (hup.revents & (POLLHUP | POLLERR)))
		_exit(1);
	/* Not dumpable: commands share init's uid, but not its /proc files. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (sethostname(A->spec->hostname, strlen(A->spec->hostname)) < 0)
		setup_failed("sethostname", A->spec->hostname, errno);
	if (sbx_mount_root(A->spec, A->spec->ws_mode != SBX_WS_NONE ? 4 : -1,
	                   &step, &path) < 0)
		setup_failed(step, path, errno);
	if (sbx_net_loopback_up() < 0)
		setup_failed("bring up loopback", "lo", errno);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0)
		setup_failed("open", "/dev/null", errno);
	for (int i = 0; i < 3; i++)
		if (nul != i && dup2(nul, i) < 0)
			setup_failed("dup2", "/dev/null", errno);
	if (nul > 2)
		close(nul);
	/* Meanwhile the keeper made the box's cgroups and moved us in (the
	 * two overlap: this setup and cgroup creation each take about half a
	 * millisecond). Its second byte says so; only then a new cgroup
	 * namespace, so that the box's cgroup becomes the namespace's root.
	 * No command runs before this point. */
	char go;
	if (recv(g_ctl, &go, 1, 0) != 1)
		_exit(1);
	if (unshare(CLONE_NEWCGROUP) < 0)
		setup_failed("unshare cgroup namespace", "", errno);
}

void sbx_init_main(const struct sbx_init_args *a)
{
	A = a;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Signals the keeper ignored or handled would stay ignored across
	 * exec in the commands: start from the defaults. */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &dfl, NULL);
	int ctl = fcntl(a->ctl_fd, F_DUPFD_CLOEXEC, 100);
	int ws = a->ws_fd >= 0 ? fcntl(a->ws_fd, F_DUPFD_CLOEXEC, 100) : -1;
	if (ctl < 0 || dup3(ctl, 3, O_CLOEXEC) < 0 ||
	    (ws >= 0 && dup3(ws, 4, O_CLOEXEC) < 0))
		_exit(1);
	g_ctl = 3;
	syscall(SYS_close_range, a->ws_fd >= 0 ? 5u : 4u, ~0u, 0u);
	/* Wait for the keeper: it writes our uid/gid maps and cgroups first. */
	char go;
	if (recv(g_ctl, &go, 1, 0) != 1)
		_exit(1);
	setup();
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		setup_failed("signalfd", "", errno);
	struct sbx_msg ready;
	memset(&ready, 0, sizeof ready);
	ready.type = SBX_MSG_READY;
	send_msg(&ready, -1);
	for (;;) {
		struct pollfd p[2] = { { g_ctl, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		if (p[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) > 0)
				;
			reap();
		}
		if (p[0].revents && serve() < 0)
			_exit(0);
	}
}
