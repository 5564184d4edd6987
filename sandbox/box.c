/* box.c - the keeper's side of a box: create, spawn, events, finish.
 *
 * Setup order (see init.c for the processes and the protocol):
 *   1. compile the seccomp filter, take a host uid (root), create cgroups;
 *   2. clone init into new user/mount/pid/net/ipc/uts namespaces;
 *   3. write init's uid/gid maps and move it into the cgroups;
 *   4. send "go": init unshares its cgroup namespace, builds the root,
 *      brings up loopback and answers READY or {step, errno};
 * Teardown: SIGKILL to init ends the pid namespace (every process in it,
 * double-forked daemons included), then wait4 collects its accounting,
 * then the cgroups are removed and the uid is released.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

struct sbx_box {
	pid_t pid;                 /* host pid of init */
	int pidfd;
	int ctl;                   /* SOCK_SEQPACKET to init */
	int null_fd;               /* /dev/null for commands without stdio */
	struct sbx_cgroup *cg;     /* owned, NULL without cgroups */
	uid_t host_uid;
	int slot_fd;               /* uid slot lock (root), else -1 */
	int next_id;
	bool finished;
	struct sbx_usage usage;
	struct sbx_msg *queue;     /* owned: messages read while waiting for a
	                              SOCKET reply, delivered later in order */
	size_t nqueue;
};

static const char *const child_steps[] = {
	"", "setsid", "set up stdio", "setrlimit", "chdir", "drop bounding set",
	"setgroups", "setresgid", "setresuid", "drop capabilities",
	"no_new_privs", "load seccomp filter", "exec",
};

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int write_maps(pid_t pid, uid_t inside, uid_t host_uid, gid_t host_gid,
                      bool root, struct sbx_error *err)
{
	char p[64], v[64];
	snprintf(p, sizeof p, "/proc/%d/uid_map", (int)pid);
	snprintf(v, sizeof v, "%u %u 1\n", inside, host_uid);
	if (write_file(p, v) < 0)
		return sbx_err(err, errno, "cannot write '%s': %s", p, strerror(errno));
	if (!root) {
		/* Unprivileged: the kernel requires setgroups to be denied
		 * before an unprivileged gid_map. */
		snprintf(p, sizeof p, "/proc/%d/setgroups", (int)pid);
		if (write_file(p, "deny") < 0)
			return sbx_err(err, errno, "cannot write '%s': %s", p, strerror(errno));
	}
	snprintf(p, sizeof p, "/proc/%d/gid_map", (int)pid);
	snprintf(v, sizeof v, "%u %u 1\n", inside, host_gid);
	if (write_file(p, v) < 0)
		return sbx_err(err, errno, "cannot write '%s': %s", p, strerror(errno));
	return 0;
}

/* rlimits can only be lowered here (no CAP_SYS_RESOURCE): clamp to the
 * current hard limit rather than fail. */
static void add_rlimit(struct sbx_init_args *a, int res, unsigned long long v)
{
	struct rlimit cur;
	if (getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
	    v > cur.rlim_max)
		v = cur.rlim_max;
	a->rl[a->nrl].resource = res;
	a->rl[a->nrl].value = v;
	a->nrl++;
}

static void prepare_rlimits(const struct sbx_limits *l, bool cgroup,
                            struct sbx_init_args *a)
{
	a->nrl = 0;
	add_rlimit(a, RLIMIT_CORE, 0); /* a core dump could fill the disk */
	if (l->open_files)
		add_rlimit(a, RLIMIT_NOFILE, l->open_files);
	if (l->file_bytes)
		add_rlimit(a, RLIMIT_FSIZE, l->file_bytes);
	if (l->cpu_ms_per_proc)
		add_rlimit(a, RLIMIT_CPU, (l->cpu_ms_per_proc + 999) / 1000);
	if (l->stack_bytes)
		add_rlimit(a, RLIMIT_STACK, l->stack_bytes);
	/* Without a memory cgroup the address space is the only memory bound
	 * left (coarse: it counts reservations, not use). */
	if (l->address_space_bytes)
		add_rlimit(a, RLIMIT_AS, l->address_space_bytes);
	else if (!cgroup && l->memory_bytes)
		add_rlimit(a, RLIMIT_AS, l->memory_bytes);
	/* Since Linux 5.14 RLIMIT_NPROC is counted per (user namespace, uid)
	 * first, so in the box's own user namespace it counts the box's
	 * processes only, as root or not. The pids cgroup is the real bound
	 * (and says when it was hit); with one, this backstop sits above it. */
	if (l->pids)
		add_rlimit(a, RLIMIT_NPROC, cgroup ? 2ull * l->pids : l->pids);
}

/* rw workspaces must be writable by the box's host uid. */
static int chown_tree(int dfd, uid_t uid, int depth)
{
	if (depth > 64 || fchown(dfd, uid, uid) < 0)
		return -1;
	int d2 = dup(dfd);
	DIR *d = d2 < 0 ? NULL : fdopendir(d2);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		                O_NONBLOCK | O_NOCTTY);
		if (fd < 0) {
			/* a symlink: change the link itself */
			if (fchownat(dfd, e->d_name, uid, uid, AT_SYMLINK_NOFOLLOW) < 0)
				rc = -1;
			continue;
		}
		struct stat st;
		if (fstat(fd, &st) < 0) {
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			rc |= chown_tree(fd, uid, depth + 1);
		} else if (st.st_nlink > 1) {
			/* A hard link may name a file outside the workspace:
			 * chowning it would hand that file to the box. */
			errno = EMLINK;
			rc = -1;
		} else {
			rc |= fchown(fd, uid, uid);
		}
		close(fd);
	}
	closedir(d);
	return rc;
}

static int pack_put(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Packs the tree below |dfd| into |pfd| with the keeper's own rights (a
 * private directory of the caller works), regular files and directories
 * only: symlinks, fifos and devices are left out, so nothing in the copy
 * can point anywhere. |*budget| is the workspace size limit. */
static int pack_dir(int dfd, int pfd, char *prefix, size_t plen,
                    uint64_t *budget, int depth)
{
	if (depth > 64)
		return errno = ELOOP, -1;
	int d2 = dup(dfd);
	DIR *d = d2 < 0 ? NULL : fdopendir(d2);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		size_t nl = strlen(e->d_name);
		if (plen + nl + 1 > SBX_PACK_PATH_MAX) {
			rc = -1;
			errno = ENAMETOOLONG;
			break;
		}
		/* Look before opening: opening a device or fifo as root could
		 * have side effects (a tape rewinds, a fifo blocks). */
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
			continue; /* a symlink or something special */
		int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		                O_NONBLOCK | O_NOCTTY);
		if (fd < 0 || fstat(fd, &st) < 0 ||
		    !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
			if (fd >= 0)
				close(fd);
			continue; /* replaced under us: skip it */
		}
		size_t sub = plen;
		if (plen)
			prefix[sub++] = '/';
		memcpy(prefix + sub, e->d_name, nl);
		sub += nl;
		uint64_t size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
		if (size + 4096 > *budget) {
			close(fd);
			rc = -1;
			errno = ENOSPC;
			break;
		}
		*budget -= size + 4096; /* a rough inode cost per entry */
		struct sbx_pack_hdr h = { S_ISDIR(st.st_mode) ? 'd' : 'f',
		                          (uint16_t)(st.st_mode & 0777),
		                          (uint16_t)sub, size };
		rc = pack_put(pfd, &h, sizeof h) | pack_put(pfd, prefix, sub);
		if (rc == 0 && S_ISDIR(st.st_mode))
			rc = pack_dir(fd, pfd, prefix, sub, budget, depth + 1);
		else if (rc == 0) {
			off_t off = 0;
			while (rc == 0 && (uint64_t)off < size) {
				ssize_t n = sendfile(pfd, fd, &off, (size_t)(size - (uint64_t)off));
				if (n <= 0)
					rc = -1; /* the file shrank under us: fail loudly */
			}
		}
		close(fd);
	}
	closedir(d);
	return rc;
}

static int pack_workspace(const struct sbx_spec *s, struct sbx_error *err)
{
	int dfd = open(s->ws_host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return sbx_err(err, errno, "cannot open workspace '%s': %s",
		               s->ws_host, strerror(errno));
	int pfd = memfd_create("fp-workspace", MFD_CLOEXEC);
	char prefix[SBX_PACK_PATH_MAX + 1];
	uint64_t budget = s->limits.workspace_bytes;
	int rc = pfd < 0 ? -1 : pack_dir(dfd, pfd, prefix, 0, &budget, 0);
	int e = errno;
	close(dfd);
	if (rc < 0 || lseek(pfd, 0, SEEK_SET) < 0) {
		if (pfd >= 0)
			close(pfd);
		if (e == ENOSPC)
			return sbx_err(err, e, "workspace '%s' is larger than the "
			               "workspace limit (%llu MiB)", s->ws_host,
			               (unsigned long long)(s->limits.workspace_bytes >> 20));
		return sbx_err(err, e, "cannot read workspace '%s': %s", s->ws_host,
		               strerror(e));
	}
	return pfd;
}

static int recv_msg(struct sbx_box *b, struct sbx_msg *m, int *fd, int flags)
{
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } u;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof *m };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	                     .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	if (fd)
		*fd = -1;
	ssize_t n;
	while ((n = recvmsg(b->ctl, &mh, flags | MSG_CMSG_CLOEXEC)) < 0 &&
	       errno == EINTR)
		;
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return -1; /* init is gone */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;
			memcpy(&got, CMSG_DATA(c), sizeof got);
			if (fd)
				*fd = got;
			else
				close(got);
		}
	}
	if ((size_t)n != sizeof *m)
		return -1;
	return 1;
}

/* Blocking receive with a deadline (for READY and SOCKET replies). */
static int recv_wait(struct sbx_box *b, struct sbx_msg *m, int *fd,
                     int timeout_ms)
{
	struct pollfd p = { b->ctl, POLLIN, 0 };
	int rc;
	while ((rc = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (rc == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return rc < 0 ? -1 : recv_msg(b, m, fd, MSG_DONTWAIT);
}

static int start_init(struct sbx_box *b, const struct sbx_spec *spec,
                      int ws_fd, struct sbx_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return sbx_err(err, errno, "cannot create socketpair: %s", strerror(errno));
	static struct sbx_init_args a; /* read by the child only */
	memset(&a, 0, sizeof a);
	a.spec = spec;
	a.ctl_fd = sv[1];
	a.ws_fd = ws_fd;
	a.root_mode = geteuid() == 0;
	a.empty_caps = cap_init();
	if (!a.empty_caps)
		abort();
	prepare_rlimits(&spec->limits, strcmp(sbx_cgroup_mode(), "none") != 0, &a);
	/* Raw clone without a new stack behaves like fork; the cgroup
	 * namespace is unshared later, from inside the box's cgroup. */
	long pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
	                   CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
	                   NULL, NULL, NULL, NULL);
	if (pid == 0) {
		close(sv[0]);
		sbx_init_main(&a);
	}
	int e = errno;
	cap_free(a.empty_caps);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		err->host = true;
		return sbx_err(err, e, "cannot create namespaces: %s (are user "
		               "namespaces disabled? see user.max_user_namespaces)",
		               strerror(e));
	}
	b->pid = (pid_t)pid;
	b->ctl = sv[0];
	b->pidfd = (int)syscall(SYS_pidfd_open, b->pid, 0);
	return 0;
}

static int wait_ready(struct sbx_box *b, struct sbx_error *err)
{
	struct sbx_msg m;
	char go = 'c'; /* the cgroups are ready */
	/* If init already failed, its {step, errno} is waiting to be read:
	 * a failed send must not hide it. */
	(void)!send(b->ctl, &go, 1, MSG_NOSIGNAL);
	/* Setup is milliseconds; copying a big workspace can take longer. */
	if (recv_wait(b, &m, NULL, 60000) != 1) {
		err->host = true;
		return sbx_err(err, errno, "sandbox init died during setup");
	}
	if (m.type == SBX_MSG_READY)
		return 0;
	m.text[63] = '\0';
	m.text[sizeof m.text - 1] = '\0';
	const char *step = m.text, *path = m.text + 64;
	/* A workspace that does not fit or a missing bind source is the
	 * user's to fix; anything else means this host cannot do it. */
	err->config = strcmp(step, "stat bind source") == 0;
	err->host = strcmp(step, "copy workspace") != 0 && !err->config;
	if (strcmp(step, "copy workspace") == 0 && m.errnum == ENOSPC)
		return sbx_err(err, m.errnum, "cannot copy workspace '%s': larger "
		               "than the workspace size limit", path);
	return sbx_err(err, m.errnum, "sandbox setup failed: %s '%s': %s", step,
	               path, strerror(m.errnum));
}

struct sbx_box *sbx_box_create(const struct sbx_spec *spec,
                               struct sbx_error *err)
{
	memset(err, 0, sizeof *err);
	bool root = geteuid() == 0;
	if (sbx_seccomp_compile((struct sbx_spec *)spec, err) < 0)
		return NULL;
	struct sbx_box *b = calloc(1, sizeof *b);
	if (!b)
		abort();
	b->ctl = b->pidfd = b->slot_fd = -1;
	b->next_id = 1;
	b->host_uid = geteuid();
	b->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (root && sbx_uidslot_acquire(&b->host_uid, &b->slot_fd, err) < 0)
		goto fail;
	if (root && spec->ws_mode == SBX_WS_RW) {
		int fd = open(spec->ws_host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || chown_tree(fd, b->host_uid, 0) < 0) {
			sbx_err(err, errno, "cannot hand '%s' to uid %u: %s",
			        spec->ws_host, b->host_uid, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		close(fd);
	}
	int ws_fd = -1;
	if (spec->ws_mode == SBX_WS_COPY) {
		if ((ws_fd = pack_workspace(spec, err)) < 0)
			goto fail;
	}
	int rc = start_init(b, spec, ws_fd, err);
	if (ws_fd >= 0)
		close(ws_fd);
	if (rc < 0)
		goto fail;
	if (write_maps(b->pid, spec->uid, b->host_uid, root ? b->host_uid : getegid(),
	               root, err) < 0) {
		err->host = true;
		goto fail;
	}
	/* init builds its root while we make its cgroups (see init.c). */
	char go = 'g';
	if (send(b->ctl, &go, 1, MSG_NOSIGNAL) != 1) {
		sbx_err(err, errno, "cannot start init: %s", strerror(errno));
		goto fail;
	}
	if (strcmp(sbx_cgroup_mode(), "none") != 0) {
		b->cg = sbx_cgroup_create(&spec->limits, err);
		if (!b->cg || sbx_cgroup_attach(b->cg, b->pid, err) < 0) {
			err->host = true;
			goto fail;
		}
	}
	if (wait_ready(b, err) < 0)
		goto fail;
	return b;
fail:
	{
		struct sbx_error keep = *err;
		sbx_box_free(b);
		*err = keep;
	}
	return NULL;
}

int sbx_box_spawn(struct sbx_box *b, const struct sbx_cmd *cmd, int *proc_id,
                  struct sbx_error *err)
{
	static char buf[sizeof(struct sbx_msg) + SBX_MAX_CMD_BYTES];
	struct sbx_msg *m = (struct sbx_msg *)buf;
	memset(m, 0, sizeof *m);
	m->type = SBX_MSG_SPAWN;
	m->id = b->next_id++;
	size_t off = sizeof *m;
	int argc = 0, envc = 0;
	const char *const empty[] = { NULL };
	const char *const *env = cmd->envp ? cmd->envp : empty;
	for (int pass = 0; pass < 3; pass++) {
		const char *const *list = pass == 0 ? cmd->argv : env;
		const char *const one[] = { cmd->cwd ? cmd->cwd : "", NULL };
		if (pass == 2)
			list = one;
		for (int i = 0; list && list[i]; i++) {
			size_t n = strlen(list[i]) + 1;
			if (off + n > sizeof buf || argc + envc >= SBX_MAX_ARGS)
				return sbx_err(err, E2BIG, "command line and environment "
				               "exceed %d bytes", SBX_MAX_CMD_BYTES);
			memcpy(buf + off, list[i], n);
			off += n;
			argc += pass == 0;
			envc += pass == 1;
		}
	}
	if (argc == 0)
		return sbx_err(err, EINVAL, "empty command");
	m->arg1 = argc;
	m->arg2 = envc;
	int fds[3] = { cmd->stdin_fd, cmd->stdout_fd, cmd->stderr_fd };
	for (int i = 0; i < 3; i++)
		if (fds[i] < 0)
			fds[i] = b->null_fd;
	union { char c[CMSG_SPACE(sizeof fds)]; struct cmsghdr a; } u;
	memset(&u, 0, sizeof u);
	struct iovec iov = { .iov_base = buf, .iov_len = off };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	                     .msg_control = u.c, .msg_controllen = sizeof u.c };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	if (sendmsg(b->ctl, &mh, MSG_NOSIGNAL) < 0)
		return sbx_err(err, errno, "cannot reach sandbox init: %s", strerror(errno));
	*proc_id = m->id;
	return 0;
}

int sbx_box_signal(struct sbx_box *b, int proc_id, int sig, struct sbx_error *err)
{
	struct sbx_msg m;
	memset(&m, 0, sizeof m);
	m.type = SBX_MSG_SIGNAL;
	m.id = proc_id;
	m.status = sig;
	if (send(b->ctl, &m, sizeof m, MSG_NOSIGNAL) < 0)
		return sbx_err(err, errno, "cannot reach sandbox init: %s", strerror(errno));
	return 0;
}

static void enqueue(struct sbx_box *b, const struct sbx_msg *m)
{
	struct sbx_msg *q = realloc(b->queue, (b->nqueue + 1) * sizeof *q);
	if (!q)
		abort();
	b->queue = q;
	b->queue[b->nqueue++] = *m;
}

int sbx_box_socket(struct sbx_box *b, int domain, int type, struct sbx_error *err)
{
	struct sbx_msg m;
	memset(&m, 0, sizeof m);
	m.type = SBX_MSG_SOCKET;
	m.id = b->next_id++;
	m.arg1 = domain;
	m.arg2 = type;
	if (send(b->ctl, &m, sizeof m, MSG_NOSIGNAL) < 0)
		return sbx_err(err, errno, "cannot reach sandbox init: %s", strerror(errno));
	for (;;) {
		struct sbx_msg r;
		int fd;
		if (recv_wait(b, &r, &fd, 5000) != 1)
			return sbx_err(err, errno, "no socket from sandbox init");
		if (r.type == SBX_MSG_SOCKET_OK && fd >= 0)
			return fd;
		if (r.type == SBX_MSG_SOCKET_ERR)
			return sbx_err(err, r.errnum, "cannot create socket in the "
			               "sandbox: %s", strerror(r.errnum));
		if (fd >= 0)
			close(fd);
		enqueue(b, &r);
	}
}

static void to_event(const struct sbx_msg *m, struct sbx_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->proc_id = m->id;
	ev->pid = m->pid;
	ev->status = m->status;
	ev->errnum = m->errnum;
	ev->cpu_ms = m->cpu_us / 1000u;
	ev->max_rss_kb = m->maxrss_kb;
	switch ((enum sbx_msg_type)m->type) {
	case SBX_MSG_SPAWNED:
		ev->type = SBX_EV_SPAWNED;
		break;
	case SBX_MSG_SPAWN_FAILED: {
		ev->type = SBX_EV_SPAWN_FAILED;
		int st = m->status;
		const char *step = st > 0 && st < (int)(sizeof child_steps / sizeof *child_steps)
		                   ? child_steps[st] : "spawn";
		snprintf(ev->msg, sizeof ev->msg, "%s: %s", step, strerror(m->errnum));
		break;
	}
	case SBX_MSG_EXITED:
		ev->type = SBX_EV_EXITED;
		break;
	case SBX_MSG_READY: case SBX_MSG_SETUP_ERR: case SBX_MSG_SPAWN:
	case SBX_MSG_SIGNAL: case SBX_MSG_SOCKET: case SBX_MSG_SOCKET_OK:
	case SBX_MSG_SOCKET_ERR:
		ev->type = SBX_EV_NONE;
		break;
	}
}

int sbx_box_fd(const struct sbx_box *b)
{
	return b->ctl;
}

int sbx_box_read_event(struct sbx_box *b, struct sbx_event *ev)
{
	struct sbx_msg m;
	if (b->nqueue) {
		m = b->queue[0];
		memmove(b->queue, b->queue + 1, --b->nqueue * sizeof *b->queue);
		to_event(&m, ev);
		return 1;
	}
	if (b->finished || b->ctl < 0)
		return -1;
	for (;;) {
		int rc = recv_msg(b, &m, NULL, MSG_DONTWAIT);
		if (rc <= 0)
			return rc;
		to_event(&m, ev);
		if (ev->type != SBX_EV_NONE)
			return 1;
	}
}

int sbx_box_wait_event(struct sbx_box *b, struct sbx_event *ev, int timeout_ms)
{
	int rc = sbx_box_read_event(b, ev);
	if (rc != 0)
		return rc;
	struct pollfd p = { b->ctl, POLLIN, 0 };
	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	return sbx_box_read_event(b, ev);
}

static int scan_tcp(pid_t pid, const char *file, unsigned port)
{
	char path[64], buf[16384];
	snprintf(path, sizeof path, "/proc/%d/net/%s", (int)pid, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	/* "  0: 0100007F:1F40 00000000:0000 0A ..." ; state 0A is LISTEN. */
	for (char *l = strchr(buf, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
		char *colon = strchr(l + 1, ':');
		colon = colon ? strchr(colon + 1, ':') : NULL;
		if (!colon)
			continue;
		unsigned p = (unsigned)strtoul(colon + 1, NULL, 16);
		char *st = strchr(colon, ' ');
		st = st ? strchr(st + 1, ' ') : NULL;
		if (p == port && st && !strncmp(st + 1, "0A", 2))
			return 1;
	}
	return 0;
}

int sbx_box_listening(struct sbx_box *b, unsigned port)
{
	if (b->finished)
		return -1;
	int v4 = scan_tcp(b->pid, "tcp", port);
	if (v4 == 1)
		return 1;
	int v6 = scan_tcp(b->pid, "tcp6", port);
	return v6 == 1 ? 1 : (v4 < 0 && v6 < 0) ? -1 : 0;
}

int sbx_box_cpu_ms(struct sbx_box *b, uint64_t *cpu_ms)
{
	if (!b->cg)
		return -1;
	return sbx_cgroup_cpu_ms(b->cg, cpu_ms);
}

int sbx_box_open(struct sbx_box *b, const char *path, struct sbx_error *err)
{
	char root[64];
	if (b->finished)
		return sbx_err(err, ESRCH, "sandbox already finished");
	snprintf(root, sizeof root, "/proc/%d/root", (int)b->pid);
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return sbx_err(err, errno, "cannot open '%s': %s", root, strerror(errno));
	/* Symlinks (absolute ones and "..") resolve inside the box's root,
	 * never on the host; the last component must not be a link at all. */
	struct open_how how = {
		.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, rfd, path, &how, sizeof how);
	int e = errno;
	close(rfd);
	if (fd < 0)
		return sbx_err(err, e, "cannot open '%s' in the sandbox: %s", path,
		               strerror(e));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return sbx_err(err, EINVAL, "'%s' in the sandbox is not a regular file",
		               path);
	}
	/* We read as host root: only what the box itself wrote, never a file
	 * of a read-only bind (or one linked from it) that the box could not
	 * read itself. */
	if (st.st_uid != b->host_uid) {
		close(fd);
		return sbx_err(err, EPERM, "'%s' in the sandbox was not written by it",
		               path);
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}

int sbx_box_finish(struct sbx_box *b, struct sbx_usage *u)
{
	if (!b->finished) {
		b->finished = true;
		memset(&b->usage, 0, sizeof b->usage);
		b->usage.cgroup = "none";
		if (b->pid > 0) {
			int st = 0;
			struct rusage ru;
			memset(&ru, 0, sizeof ru);
			b->usage.init_killed = kill(b->pid, SIGKILL) == 0;
			sbx_cgroup_kill(b->cg);
			while (wait4(b->pid, &st, __WALL, &ru) < 0 && errno == EINTR)
				;
			b->usage.cpu_ms = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000u +
			                  (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000u;
			b->usage.max_rss_kb = (uint64_t)ru.ru_maxrss;
		}
		if (b->cg)
			sbx_cgroup_usage(b->cg, &b->usage);
		sbx_cgroup_destroy(b->cg);
		b->cg = NULL;
		if (b->slot_fd >= 0)
			close(b->slot_fd);
		b->slot_fd = -1;
	}
	if (u)
		*u = b->usage;
	return 0;
}

void sbx_box_free(struct sbx_box *b)
{
	if (!b)
		return;
	sbx_box_finish(b, NULL);
	if (b->ctl >= 0)
		close(b->ctl);
	if (b->pidfd >= 0)
		close(b->pidfd);
	if (b->null_fd >= 0)
		close(b->null_fd);
	free(b->queue);
	free(b);
}

pid_t sbx_box_init_pid(const struct sbx_box *b)
{
	return b->pid;
}

uid_t sbx_box_host_uid(const struct sbx_box *b)
{
	return b->host_uid;
}

int sbx_probe_host(struct sbx_error *err)
{
	memset(err, 0, sizeof *err);
	char buf[32];
	int fd = open("/proc/sys/user/max_user_namespaces", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (strtol(buf, NULL, 10) == 0) {
				err->host = true;
				return sbx_err(err, EPERM, "user namespaces are disabled "
				               "(user.max_user_namespaces is 0)");
			}
		}
	}
	if (access("/proc/self/ns/user", F_OK) < 0) {
		err->host = true;
		return sbx_err(err, errno, "this kernel has no user namespaces");
	}
	return 0;
}
