/* internal.h - what the sandbox's files share; not installed, not public.
 * One section per file, as in isolate.h. */
#ifndef SBX_INTERNAL_H
#define SBX_INTERNAL_H

#include <linux/filter.h>
#include <stdarg.h>
#include <sys/capability.h>

#include "sandbox.h"

#define SBX_DEFAULT_UID 1000
#define SBX_MAX_ARGS 1024     /* argv + envp entries of one command */
#define SBX_MAX_CMD_BYTES 65536 /* one spawn message (argv, env, cwd) */
#define SBX_MAX_PROCS 64      /* commands tracked per box at once */

int sbx_err(struct sbx_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- spec.c ---- */
enum sbx_mount_kind { SBX_M_BIND, SBX_M_FILE, SBX_M_TMPFS };

struct sbx_mount {
	enum sbx_mount_kind kind;
	char *src;        /* owned; host path (BIND) */
	char *dst;        /* owned; inside path */
	unsigned flags;   /* enum sbx_bind_flags */
	uint64_t bytes;   /* TMPFS size */
	char *content;    /* owned; FILE contents */
	size_t content_len;
};

struct sbx_rule {
	char *name;       /* owned syscall name */
	int nr;
	enum sbx_action action;
	int errnum;
	struct sbx_arg_cmp cmps[6];
	unsigned ncmp;
};

struct sbx_spec {
	struct sbx_mount *mounts; /* owned array */
	size_t nmounts;
	char *ws_host;            /* owned */
	char *ws_inside;          /* owned */
	enum sbx_workspace_mode ws_mode;
	struct sbx_limits limits;
	char hostname[65];
	uid_t uid;
	enum sbx_action sc_default;
	int sc_default_errno;
	bool sc_disabled;
	struct sbx_rule *rules;   /* owned array */
	size_t nrules;
	/* Compiled filter, cached until a seccomp setter changes the rules. */
	struct sock_filter *bpf;  /* owned */
	unsigned short bpf_len;
};

/* ---- seccomp.c ---- */
/* Compiles spec's rules (if not cached) into spec->bpf. */
int sbx_seccomp_compile(struct sbx_spec *spec, struct sbx_error *err);

/* ---- cgroup.c ---- */
struct sbx_cgroup;
/* Creates the box's cgroup(s) with |limits|; NULL when cgroups are not
 * available here (then only rlimits apply). */
struct sbx_cgroup *sbx_cgroup_create(const struct sbx_limits *limits,
                                     struct sbx_error *err);
int sbx_cgroup_attach(struct sbx_cgroup *cg, pid_t pid, struct sbx_error *err);
int sbx_cgroup_cpu_ms(struct sbx_cgroup *cg, uint64_t *ms);
void sbx_cgroup_usage(struct sbx_cgroup *cg, struct sbx_usage *u);
void sbx_cgroup_kill(struct sbx_cgroup *cg); /* v2 cgroup.kill; NULL ok */
void sbx_cgroup_destroy(struct sbx_cgroup *cg); /* NULL ok */

/* ---- uidslot.c ---- */
/* As root: a host uid no other box (of any firstpass process) holds, kept
 * while |*lock_fd| is open. */
int sbx_uidslot_acquire(uid_t *host_uid, int *lock_fd, struct sbx_error *err);

/* ---- init.c: runs as pid 1 of the box (async-signal-safe code only) ---- */
struct sbx_init_args {
	const struct sbx_spec *spec;
	int ctl_fd;          /* SOCK_SEQPACKET to the keeper */
	int ws_fd;           /* the workspace directory opened by the keeper
	                        (its path may not be searchable by the box's
	                        uid, e.g. below /root), or -1 */
	bool root_mode;      /* the keeper is host root */
	cap_t empty_caps;    /* prepared before clone */
	struct rlimit_set { int resource; unsigned long long value; } rl[8];
	int nrl;
};
__attribute__((noreturn)) void sbx_init_main(const struct sbx_init_args *a);

/* ---- mount.c (inside init) ---- */
/* Builds the root filesystem; on failure returns -1 with *step and *path. */
/* |ws_fd| is the workspace directory (fd 4 in init) or -1. */
int sbx_mount_root(const struct sbx_spec *spec, int ws_fd, const char **step,
                   const char **path);

/* The copy-mode workspace travels from keeper to init as a memfd of
 * records: header, path (no NUL), then |size| bytes for files. */
#define SBX_PACK_PATH_MAX 1024
struct sbx_pack_hdr {
	char type;          /* 'd' directory, 'f' regular file */
	uint16_t mode;
	uint16_t path_len;
	uint64_t size;
};

/* ---- net.c (inside init) ---- */
int sbx_net_loopback_up(void);

/* ---- caps.c ---- */
/* Drops the bounding and ambient sets (needs CAP_SETPCAP: call before
 * changing uid). Async-signal-safe. */
int sbx_caps_drop_bounding(void);
/* Clears effective, permitted and inheritable. Async-signal-safe. */
int sbx_caps_clear(cap_t empty);

/* ---- protocol between keeper (box.c) and init (init.c) ---- */
enum sbx_msg_type {
	SBX_MSG_READY = 1, SBX_MSG_SETUP_ERR, SBX_MSG_SPAWN, SBX_MSG_SPAWNED,
	SBX_MSG_SPAWN_FAILED, SBX_MSG_EXITED, SBX_MSG_SIGNAL, SBX_MSG_SOCKET,
	SBX_MSG_SOCKET_OK, SBX_MSG_SOCKET_ERR,
};

struct sbx_msg {
	uint32_t type;
	int32_t id;
	int32_t pid;
	int32_t status;      /* wait status, or signal number for SIGNAL */
	int32_t errnum;
	int32_t arg1, arg2;  /* SOCKET: domain, type; SPAWN: argc, envc */
	uint64_t cpu_us;
	uint64_t maxrss_kb;
	char text[160];      /* step / path on errors */
};

#endif
