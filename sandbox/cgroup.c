/* cgroup.c - per-box control groups: memory, pids and CPU limits and the
 * accounting a user reads to learn why a run died.
 *
 * cgroup v2 is used when the unified hierarchy offers memory and pids to
 * our own group's children (the modern default); otherwise the v1 memory,
 * pids, cpu and cpuacct hierarchies (this project's CI hosts); otherwise
 * none, and only rlimits limit the box (sbx_usage.cgroup says which).
 * Groups are created below the caller's own group, named
 * firstpass-<keeper pid>-<seq>; groups left by a killed keeper are removed
 * the next time a keeper starts (their pid no longer exists).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

enum { CG_MEM, CG_PIDS, CG_CPU, CG_CPUACCT, CG_N };
static const char *const v1_names[CG_N] = { "memory", "pids", "cpu", "cpuacct" };

struct sbx_cgroup {
	int version;              /* 2 or 1 */
	char *dirs[CG_N];         /* owned; v2 uses dirs[0] only */
};

static int g_mode = -1;        /* -1 unknown, 0 none, 1, 2 */
static char g_base[CG_N][512]; /* parent directories */
static unsigned g_seq;

static int write_str(const char *dir, const char *file, const char *val)
{
	char p[768];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, val, strlen(val));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static int read_str(const char *dir, const char *file, char *buf, size_t n)
{
	char p[768];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	return 0;
}

static unsigned long long read_u64(const char *dir, const char *file)
{
	char b[64];
	return read_str(dir, file, b, sizeof b) < 0 ? 0 : strtoull(b, NULL, 10);
}

/* "key value" lines (memory.events, pids.events, cpu.stat ...). */
static unsigned long long read_key(const char *dir, const char *file,
                                   const char *key)
{
	char b[4096];
	if (read_str(dir, file, b, sizeof b) < 0)
		return 0;
	size_t kl = strlen(key);
	for (char *l = b; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, key, kl) && l[kl] == ' ')
			return strtoull(l + kl + 1, NULL, 10);
	return 0;
}

static bool is_fs(const char *path, long magic)
{
	struct statfs st;
	return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

/* Our own group in a hierarchy, from /proc/self/cgroup: "0::/a/b" for v2,
 * "4:memory:/a/b" for v1 (a field may list several controllers). */
static int own_group(const char *ctrl, char *out, size_t n)
{
	char b[4096];
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, b, sizeof b - 1);
	close(fd);
	if (r <= 0)
		return -1;
	b[r] = '\0';
	for (char *save = NULL, *l = strtok_r(b, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		bool match = false;
		if (!ctrl)
			match = c1[1] == '\0';
		else
			for (char *s2 = NULL, *t = strtok_r(c1 + 1, ",", &s2); t;
			     t = strtok_r(NULL, ",", &s2))
				match |= !strcmp(t, ctrl);
		if (match) {
			snprintf(out, n, "%s", strcmp(c2 + 1, "/") ? c2 + 1 : "");
			return 0;
		}
	}
	return -1;
}

static bool v2_usable(void)
{
	const char *mnt = is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC) ?
	                  "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
	char rel[400], ctl[256];
	if (!is_fs(mnt, CGROUP2_SUPER_MAGIC) || own_group(NULL, rel, sizeof rel))
		return false;
	snprintf(g_base[0], sizeof g_base[0], "%s%s", mnt, rel);
	if (read_str(g_base[0], "cgroup.subtree_control", ctl, sizeof ctl) < 0)
		return false;
	if (strstr(ctl, "memory") && strstr(ctl, "pids"))
		return true;
	/* Try to delegate them to our children; this fails (EBUSY) when our
	 * group holds processes, as the v2 "no internal processes" rule says. */
	return write_str(g_base[0], "cgroup.subtree_control", "+memory +pids") == 0;
}

static bool v1_usable(void)
{
	int found = 0;
	for (int i = 0; i < CG_N; i++) {
		char mnt[128], rel[384];
		snprintf(mnt, sizeof mnt, "/sys/fs/cgroup/%s", v1_names[i]);
		g_base[i][0] = '\0';
		if (!is_fs(mnt, CGROUP_SUPER_MAGIC) || own_group(v1_names[i], rel, sizeof rel))
			continue;
		snprintf(g_base[i], sizeof g_base[i], "%s%s", mnt, rel);
		if (access(g_base[i], W_OK) == 0)
			found += i == CG_MEM || i == CG_PIDS;
		else
			g_base[i][0] = '\0';
	}
	return found == 2;
}

/* The keeper pid in a group name "firstpass-<pid>-<seq>", else 0. */
static pid_t group_owner(const char *name)
{
	static const char prefix[] = "firstpass-";
	const char *num;
	char *end = NULL;
	long pid;
	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	num = name + sizeof(prefix) - 1;
	errno = 0;
	pid = strtol(num, &end, 10);
	if (end == num || *end != '-' || errno || pid <= 0 || pid > INT_MAX)
		return 0;
	return (pid_t)pid;
}

/* Removes groups whose keeper is dead (firstpass killed by SIGKILL). */
static void sweep_stale(const char *base)
{
	DIR *d = opendir(base);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t pid = group_owner(e->d_name);
		if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH) {
			char p[800];
			snprintf(p, sizeof p, "%s/%s", base, e->d_name);
			rmdir(p);
		}
	}
	closedir(d);
}

const char *sbx_cgroup_mode(void)
{
	if (g_mode < 0) {
		g_mode = v2_usable() ? 2 : v1_usable() ? 1 : 0;
		for (int i = 0; i < (g_mode == 2 ? 1 : g_mode ? CG_N : 0); i++)
			if (g_base[i][0])
				sweep_stale(g_base[i]);
	}
	return g_mode == 2 ? "v2" : g_mode == 1 ? "v1" : "none";
}

static int set_v2(const char *dir, const struct sbx_limits *l)
{
	char v[64];
	if (l->memory_bytes) {
		snprintf(v, sizeof v, "%llu", (unsigned long long)l->memory_bytes);
		if (write_str(dir, "memory.max", v) < 0)
			return -1;
		write_str(dir, "memory.swap.max", "0"); /* absent without swap */
	}
	if (l->pids) {
		snprintf(v, sizeof v, "%u", l->pids);
		if (write_str(dir, "pids.max", v) < 0)
			return -1;
	}
	if (l->cpu_percent) {
		snprintf(v, sizeof v, "%u 100000", l->cpu_percent * 1000u);
		write_str(dir, "cpu.max", v); /* cpu controller may be absent */
	}
	return 0;
}

static int set_v1(char *const dirs[CG_N], const struct sbx_limits *l)
{
	char v[64];
	if (l->memory_bytes && dirs[CG_MEM]) {
		snprintf(v, sizeof v, "%llu", (unsigned long long)l->memory_bytes);
		if (write_str(dirs[CG_MEM], "memory.limit_in_bytes", v) < 0)
			return -1;
		/* memsw exists only with swap accounting; limit swap too. */
		write_str(dirs[CG_MEM], "memory.memsw.limit_in_bytes", v);
	}
	if (l->pids && dirs[CG_PIDS]) {
		snprintf(v, sizeof v, "%u", l->pids);
		if (write_str(dirs[CG_PIDS], "pids.max", v) < 0)
			return -1;
	}
	if (l->cpu_percent && dirs[CG_CPU]) {
		snprintf(v, sizeof v, "%u", l->cpu_percent * 1000u);
		write_str(dirs[CG_CPU], "cpu.cfs_period_us", "100000");
		write_str(dirs[CG_CPU], "cpu.cfs_quota_us", v);
	}
	return 0;
}

struct sbx_cgroup *sbx_cgroup_create(const struct sbx_limits *l,
                                     struct sbx_error *err)
{
	sbx_cgroup_mode();
	if (g_mode == 0)
		return NULL;
	struct sbx_cgroup *cg = calloc(1, sizeof *cg);
	if (!cg)
		abort();
	cg->version = g_mode;
	unsigned seq = __atomic_fetch_add(&g_seq, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < (g_mode == 2 ? 1 : CG_N); i++) {
		if (!g_base[i][0])
			continue;
		char p[2200];
		snprintf(p, sizeof p, "%s/firstpass-%d-%u", g_base[i], (int)getpid(), seq);
		if (mkdir(p, 0755) < 0) {
			sbx_err(err, errno, "cannot create cgroup '%s': %s", p, strerror(errno));
			sbx_cgroup_destroy(cg);
			return NULL;
		}
		cg->dirs[i] = strdup(p);
		if (!cg->dirs[i])
			abort();
	}
	if ((g_mode == 2 ? set_v2(cg->dirs[0], l) : set_v1(cg->dirs, l)) < 0) {
		sbx_err(err, errno, "cannot set cgroup limits: %s", strerror(errno));
		sbx_cgroup_destroy(cg);
		return NULL;
	}
	return cg;
}

int sbx_cgroup_attach(struct sbx_cgroup *cg, pid_t pid, struct sbx_error *err)
{
	char v[32];
	snprintf(v, sizeof v, "%d", (int)pid);
	for (int i = 0; i < CG_N; i++)
		if (cg->dirs[i] && write_str(cg->dirs[i], "cgroup.procs", v) < 0)
			return sbx_err(err, errno, "cannot move pid %d into '%s': %s",
			               (int)pid, cg->dirs[i], strerror(errno));
	return 0;
}

int sbx_cgroup_cpu_ms(struct sbx_cgroup *cg, uint64_t *ms)
{
	if (cg->version == 2) {
		*ms = read_key(cg->dirs[0], "cpu.stat", "usage_usec") / 1000u;
		return 0;
	}
	if (!cg->dirs[CG_CPUACCT])
		return -1;
	*ms = read_u64(cg->dirs[CG_CPUACCT], "cpuacct.usage") / 1000000u;
	return 0;
}

void sbx_cgroup_usage(struct sbx_cgroup *cg, struct sbx_usage *u)
{
	uint64_t ms;
	if (sbx_cgroup_cpu_ms(cg, &ms) == 0)
		u->cpu_ms = ms;
	if (cg->version == 2) {
		const char *d = cg->dirs[0];
		u->max_rss_kb = read_u64(d, "memory.peak") / 1024u;
		u->oom_killed = read_key(d, "memory.events", "oom_kill") > 0;
		u->pids_limit_hit = read_key(d, "pids.events", "max") > 0;
		u->cgroup = "v2";
		return;
	}
	if (cg->dirs[CG_MEM]) {
		u->max_rss_kb = read_u64(cg->dirs[CG_MEM], "memory.max_usage_in_bytes") / 1024u;
		u->oom_killed = read_key(cg->dirs[CG_MEM], "memory.oom_control", "oom_kill") > 0;
	}
	if (cg->dirs[CG_PIDS])
		u->pids_limit_hit = read_key(cg->dirs[CG_PIDS], "pids.events", "max") > 0;
	u->cgroup = "v1";
}

void sbx_cgroup_kill(struct sbx_cgroup *cg)
{
	/* v2 only (5.14+): kills every process of the group at once. The pid
	 * namespace already guarantees this; it is a second, independent
	 * guarantee for anything that could have left it. */
	if (cg && cg->version == 2)
		write_str(cg->dirs[0], "cgroup.kill", "1");
}

void sbx_cgroup_destroy(struct sbx_cgroup *cg)
{
	if (!cg)
		return;
	for (int i = 0; i < CG_N; i++) {
		if (!cg->dirs[i])
			continue;
		/* Processes of a killed box may still be exiting: retry briefly. */
		for (int t = 0; t < 200 && rmdir(cg->dirs[i]) < 0 && errno == EBUSY; t++) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
		free(cg->dirs[i]);
	}
	free(cg);
}
