/* mount.c - the box's root filesystem, built by init inside its own mount
 * namespace. Runs between clone and exec: async-signal-safe calls only,
 * static buffers, no allocation.
 *
 * Order: make every mount private (nothing propagates back to the host);
 * mount a small tmpfs on /tmp and pivot_root into it, the old root staying
 * reachable at /.oldroot; recreate what the spec lists under the new root,
 * reading sources through /.oldroot; then /dev, /proc, /tmp and the
 * workspace; detach /.oldroot; finally make the root tmpfs read-only.
 * Nothing of the host that the spec does not name is reachable after.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define OLD "/.oldroot"
#define PATH_BUF 4096

static char g_path[PATH_BUF];   /* the path of the last failing step */

static const char *remember(const char *p)
{
	size_t n = strlen(p);
	if (n >= sizeof g_path)
		n = sizeof g_path - 1;
	memcpy(g_path, p, n);
	g_path[n] = '\0';
	return g_path;
}

static int join(char *out, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na + nb + 1 > PATH_BUF) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(mempcpy(out, a, na), b, nb + 1);
	return 0;
}

/* mkdir -p for an absolute path inside the new root. */
static int mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_BUF];
	size_t n = strlen(path);
	if (n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		buf[i] = c;
	}
	return 0;
}

static int parent_dirs(const char *path)
{
	char buf[PATH_BUF];
	size_t n = strlen(path);
	if (n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	char *slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return 0;
	*slash = '\0';
	return mkdirs(buf, 0755);
}

static int touch(const char *path)
{
	if (parent_dirs(path) < 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno != EEXIST)
		return -1;
	if (fd >= 0)
		close(fd);
	return 0;
}

/* Flags a read-only remount must keep: in a user namespace the kernel
 * refuses to clear nosuid/nodev/noexec/atime flags the host set. */
static unsigned long locked_flags(const char *path)
{
	struct statfs st;
	if (statfs(path, &st) < 0)
		return 0;
	unsigned long f = 0;
	if (st.f_flags & ST_NOSUID) f |= MS_NOSUID;
	if (st.f_flags & ST_NODEV) f |= MS_NODEV;
	if (st.f_flags & ST_NOEXEC) f |= MS_NOEXEC;
	if (st.f_flags & ST_NOATIME) f |= MS_NOATIME;
	if (st.f_flags & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (st.f_flags & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

/* Binds |src| (a path through /.oldroot) at |dst|. Read-only binds are
 * remounted with MS_RDONLY; all get nosuid so a setuid file inside can
 * never raise privileges (no_new_privs would also stop it), and nodev. */
static int bind_path(const char *src, const char *dst, bool rw,
                     const char **step)
{
	struct stat st;
	if (lstat(src, &st) < 0) {
		*step = "stat bind source";
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_BUF];
		ssize_t n = readlink(src, target, sizeof target - 1);
		if (n < 0) {
			*step = "readlink";
			return -1;
		}
		target[n] = '\0';
		*step = "symlink";
		if (parent_dirs(dst) < 0)
			return -1;
		return symlink(target, dst) < 0 && errno != EEXIST ? -1 : 0;
	}
	*step = "create mount point";
	if (S_ISDIR(st.st_mode) ? mkdirs(dst, 0755) : touch(dst))
		return -1;
	*step = "bind mount";
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return -1;
	unsigned long f = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV |
	                  locked_flags(dst) | (rw ? 0 : MS_RDONLY);
	*step = "remount bind";
	return mount(NULL, dst, NULL, f, NULL);
}

static int write_file(const char *dst, const char *content, size_t len)
{
	if (parent_dirs(dst) < 0)
		return -1;
	int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	              0644);
	if (fd < 0)
		return -1;
	while (len) {
		ssize_t n = write(fd, content, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		content += n;
		len -= (size_t)n;
	}
	return close(fd);
}

static int mount_tmpfs(const char *dst, uint64_t bytes, const char *mode)
{
	char opts[96];
	/* Sizes are exact bytes; tmpfs pages count against the box's memory
	 * cgroup too, so a full /tmp cannot exceed the memory limit either. */
	/* Inodes are capped too (one per 4 KiB, at least 1024): without a
	 * memory cgroup, empty files would otherwise be unbounded. */
	unsigned long long inodes = bytes / 4096 < 1024 ? 1024 : bytes / 4096;
	snprintf(opts, sizeof opts, "size=%llu,nr_inodes=%llu,mode=%s",
	         (unsigned long long)bytes, inodes, mode);
	if (mkdirs(dst, 0755) < 0)
		return -1;
	return mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

static int spec_mounts(const struct sbx_spec *s, const char **step,
                       const char **path)
{
	char src[PATH_BUF];
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct sbx_mount *m = &s->mounts[i];
		*path = remember(m->dst);
		switch (m->kind) {
		case SBX_M_BIND:
			if (join(src, OLD, m->src) < 0) {
				*step = "bind source path";
				return -1;
			}
			if (access(src, F_OK) < 0 && errno == ENOENT &&
			    (m->flags & SBX_BIND_OPTIONAL))
				continue;
			*path = remember(m->src);
			if (bind_path(src, m->dst, m->flags & SBX_BIND_RW, step) < 0)
				return -1;
			break;
		case SBX_M_FILE:
			*step = "write file";
			if (write_file(m->dst, m->content, m->content_len) < 0)
				return -1;
			break;
		case SBX_M_TMPFS:
			*step = "mount tmpfs";
			if (mount_tmpfs(m->dst, m->bytes, "1777") < 0)
				return -1;
			break;
		}
	}
	return 0;
}

/* A minimal /dev: the harmless character devices bound from the host
 * (mknod is not allowed in a user namespace), the usual symlinks, and a
 * small /dev/shm. No tty, no disks, no /dev/mem. */
static int make_dev(const char **step, const char **path)
{
	static const char *const nodes[] = {
		"null", "zero", "full", "random", "urandom", "tty",
	};
	*path = remember("/dev");
	*step = "mount /dev";
	if (mount_tmpfs("/dev", 1 << 20, "0755") < 0)
		return -1;
	char src[64], dst[64];
	for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
		snprintf(src, sizeof src, OLD "/dev/%s", nodes[i]);
		snprintf(dst, sizeof dst, "/dev/%s", nodes[i]);
		*path = remember(dst);
		if (touch(dst) < 0 ||
		    mount(src, dst, NULL, MS_BIND, NULL) < 0) {
			*step = "bind device";
			return -1;
		}
	}
	static const char *const links[][2] = {
		{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
	};
	*step = "symlink in /dev";
	for (size_t i = 0; i < sizeof links / sizeof *links; i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			return -1;
	*step = "mount /dev/shm";
	*path = remember("/dev/shm");
	if (mount_tmpfs("/dev/shm", 16 << 20, "1777") < 0)
		return -1;
	/* init shares the commands' uid, so the /dev tmpfs it made is theirs:
	 * read-only, or they could add files to /dev. The device binds and
	 * /dev/shm are separate mounts and stay writable. */
	*step = "make /dev read-only";
	*path = remember("/dev");
	return mount(NULL, "/dev", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID |
	             MS_NODEV | MS_NOEXEC, "size=1m,mode=0755");
}

/* A fresh procfs for the new pid namespace, with the parts that reveal or
 * control the host masked (as container runtimes do). */
static int make_proc(const char **step, const char **path)
{
	static const char *const ro_dirs[] = {
		"/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq",
	};
	static const char *const masked_files[] = {
		"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
		"/proc/sysrq-trigger", "/proc/latency_stats", "/proc/kallsyms",
	};
	static const char *const masked_dirs[] = {
		"/proc/acpi", "/proc/scsi", "/proc/driver",
	};
	*path = remember("/proc");
	*step = "mount /proc";
	if (mkdirs("/proc", 0555) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	          "hidepid=0") < 0)
		return -1;
	for (size_t i = 0; i < sizeof ro_dirs / sizeof *ro_dirs; i++) {
		*path = remember(ro_dirs[i]);
		*step = "make /proc part read-only";
		if (access(ro_dirs[i], F_OK) < 0)
			continue;
		if (mount(ro_dirs[i], ro_dirs[i], NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, ro_dirs[i], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
		          MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof masked_files / sizeof *masked_files; i++) {
		*path = remember(masked_files[i]);
		*step = "mask /proc file";
		if (access(masked_files[i], F_OK) < 0)
			continue;
		if (mount("/dev/null", masked_files[i], NULL, MS_BIND, NULL) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof masked_dirs / sizeof *masked_dirs; i++) {
		*path = remember(masked_dirs[i]);
		*step = "mask /proc directory";
		if (access(masked_dirs[i], F_OK) < 0)
			continue;
		if (mount("tmpfs", masked_dirs[i], "tmpfs", MS_RDONLY | MS_NOSUID |
		          MS_NODEV | MS_NOEXEC, "size=0") < 0)
			return -1;
	}
	return 0;
}

/* Reads exactly |n| bytes from the pack. */
static int pack_read(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = r == 0 ? EIO : errno;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Unpacks the keeper's workspace pack (see box.c, pack_workspace) below
 * |dfd|, every entry owned by |uid|. The keeper wrote it, but paths are
 * checked again: no absolute path, no "..", no "//". */
static int unpack_workspace(int pfd, int dfd, uid_t uid)
{
	static char buf[65536];
	char path[SBX_PACK_PATH_MAX + 1];
	struct sbx_pack_hdr h;
	for (;;) {
		ssize_t r = read(pfd, &h, sizeof h);
		if (r == 0)
			return 0;
		if (r != (ssize_t)sizeof h || h.path_len == 0 ||
		    h.path_len > SBX_PACK_PATH_MAX || pack_read(pfd, path, h.path_len) < 0) {
			errno = EIO;
			return -1;
		}
		path[h.path_len] = '\0';
		size_t pl = h.path_len;
		if (path[0] == '/' || strstr(path, "//") || !strcmp(path, "..") ||
		    !strncmp(path, "../", 3) || strstr(path, "/../") ||
		    (pl >= 3 && !strcmp(path + pl - 3, "/.."))) {
			errno = EINVAL;
			return -1;
		}
		if (h.type == 'd') {
			if (mkdirat(dfd, path, 0755) < 0 ||
			    fchownat(dfd, path, uid, uid, AT_SYMLINK_NOFOLLOW) < 0)
				return -1;
			continue;
		}
		int out = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		                 O_CLOEXEC, h.mode & 0755);
		if (out < 0)
			return -1;
		int rc = fchown(out, uid, uid);
		for (uint64_t left = h.size; rc == 0 && left;) {
			size_t n = left > sizeof buf ? sizeof buf : (size_t)left;
			if (pack_read(pfd, buf, n) < 0 || write(out, buf, n) != (ssize_t)n)
				rc = -1;
			left -= n;
		}
		int e = errno;
		close(out);
		errno = e;
		if (rc < 0)
			return -1;
	}
}

/* The workspace comes in as fd |ws_fd| from the keeper: for rw/ro the
 * directory itself (its host path may not be searchable by the box's uid,
 * e.g. below /root), for copy a pack of its contents that the keeper read
 * with its own rights. */
static int make_workspace(const struct sbx_spec *s, int ws_fd,
                          const char **step, const char **path)
{
	if (s->ws_mode == SBX_WS_NONE)
		return 0;
	*path = remember(s->ws_host);
	if (s->ws_mode != SBX_WS_COPY) {
		char src[64];
		snprintf(src, sizeof src, OLD "/proc/self/fd/%d", ws_fd);
		*step = "bind workspace";
		if (mkdirs(s->ws_inside, 0755) < 0 ||
		    mount(src, s->ws_inside, NULL, MS_BIND, NULL) < 0)
			return -1;
		*step = "remount workspace";
		return mount(NULL, s->ws_inside, NULL, MS_REMOUNT | MS_BIND |
		             MS_NOSUID | MS_NODEV | locked_flags(s->ws_inside) |
		             (s->ws_mode == SBX_WS_RW ? 0 : MS_RDONLY), NULL);
	}
	*step = "mount workspace tmpfs";
	if (mount_tmpfs(s->ws_inside, s->limits.workspace_bytes, "0755") < 0)
		return -1;
	*step = "copy workspace";
	int dfd = open(s->ws_inside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = dfd < 0 ? -1 : unpack_workspace(ws_fd, dfd, s->uid);
	if (rc == 0)
		rc = fchown(dfd, s->uid, s->uid);
	int e = errno;
	if (dfd >= 0)
		close(dfd);
	errno = e;
	return rc;
}

int sbx_mount_root(const struct sbx_spec *s, int ws_fd, const char **step,
                   const char **path)
{
	*path = remember("/");
	*step = "make mounts private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	*step = "mount new root";
	*path = remember("/tmp");
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	          "size=4m,mode=0755") < 0)
		return -1;
	*step = "pivot_root";
	if (mkdir("/tmp" OLD, 0700) < 0 ||
	    syscall(SYS_pivot_root, "/tmp", "/tmp" OLD) < 0 || chdir("/") < 0)
		return -1;
	if (spec_mounts(s, step, path) < 0 || make_dev(step, path) < 0 ||
	    make_proc(step, path) < 0)
		return -1;
	*step = "mount /tmp";
	*path = remember("/tmp");
	if (mount_tmpfs("/tmp", s->limits.tmp_bytes, "1777") < 0)
		return -1;
	if (make_workspace(s, ws_fd, step, path) < 0)
		return -1;
	*step = "detach old root";
	*path = remember(OLD);
	if (umount2(OLD, MNT_DETACH) < 0 || rmdir(OLD) < 0)
		return -1;
	*step = "make root read-only";
	*path = remember("/");
	return mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID |
	             MS_NODEV, NULL);
}
