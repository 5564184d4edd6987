/* sandbox.h - the public interface of firstpass's sandbox library.
 *
 * Lifecycle (minijail-style):
 *   spec = sbx_spec_new();            describe the box: mounts, limits, seccomp
 *   sbx_spec_*(spec, ...);            each setter copies what it is given
 *   box = sbx_box_create(spec, &err); namespaces + root + init, ready to spawn
 *   sbx_box_spawn(box, &cmd, ...);    run a command inside (several may run)
 *   sbx_box_read_event(box, &ev);     spawned / exited, driven by sbx_box_fd()
 *   sbx_box_finish(box, &usage);      kill everything, reap, account
 *   sbx_box_free(box); sbx_spec_free(spec);
 *
 * A box is one set of namespaces (user, mount, pid, net, ipc, uts, cgroup)
 * around a small init process of ours (pid 1 inside). Every command of the
 * box shares its filesystem view and its loopback-only network, so a server
 * started by one command is reachable by the next (the app, then pytest).
 * Killing init kills every process of the box, daemons included.
 *
 * Errors: functions return 0 (or a fd/positive value) on success and a
 * negative number on failure, with a caller-owned struct sbx_error filled.
 * Nothing here exits the process or prints.
 */
#ifndef FIRSTPASS_SANDBOX_H
#define FIRSTPASS_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SBX_ERR_MAX 320

struct sbx_error {
	int errnum;          /* errno of the failing call, 0 if not a syscall */
	bool host;           /* true: this host cannot run sandboxes (exit 3) */
	bool config;         /* true: the spec cannot work anywhere, e.g. a
	                        required bind source is missing (exit 2) */
	char msg[SBX_ERR_MAX]; /* "cannot mount '/usr': Operation not permitted" */
};

/* ---- the specification ------------------------------------------------ */

struct sbx_spec; /* opaque */

enum sbx_bind_flags {
	SBX_BIND_RW = 1,       /* default is read-only, nosuid, nodev */
	SBX_BIND_OPTIONAL = 2, /* silently skipped when the source is missing */
};

enum sbx_workspace_mode {
	SBX_WS_NONE = 0,
	SBX_WS_RW,      /* host directory bound read-write: writes persist */
	SBX_WS_COPY,    /* the host directory is copied into a size-capped
	                   tmpfs at start: writes never reach the host disk
	                   and vanish with the box */
	SBX_WS_RO,
};

enum sbx_action {
	SBX_ACT_ALLOW = 0,
	SBX_ACT_ERRNO, /* fail the call with an errno (EPERM by default) */
	SBX_ACT_KILL,  /* kill the process (SECCOMP_RET_KILL_PROCESS) */
	SBX_ACT_LOG,   /* allow and log to the kernel audit log */
};

enum sbx_cmp_op {
	SBX_CMP_EQ = 0, SBX_CMP_NE, SBX_CMP_LT, SBX_CMP_LE, SBX_CMP_GT,
	SBX_CMP_GE, SBX_CMP_MASKED_EQ,
};

struct sbx_arg_cmp {
	unsigned arg;       /* 0..5 */
	enum sbx_cmp_op op;
	uint64_t value;
	uint64_t mask;      /* only for SBX_CMP_MASKED_EQ */
};

/* Limits; 0 means "no limit of this kind". */
struct sbx_limits {
	uint64_t memory_bytes;    /* cgroup memory.max (+ swap 0); whole box */
	uint32_t pids;            /* cgroup pids.max; RLIMIT_NPROC as root */
	uint64_t cpu_ms_per_proc; /* RLIMIT_CPU of each process */
	uint32_t cpu_percent;     /* cgroup cpu.max / cfs quota, 100 = 1 core */
	uint64_t file_bytes;      /* RLIMIT_FSIZE */
	uint32_t open_files;      /* RLIMIT_NOFILE */
	uint64_t tmp_bytes;       /* size of the /tmp tmpfs (default 64 MiB) */
	uint64_t workspace_bytes; /* size of the SBX_WS_COPY tmpfs */
	uint64_t stack_bytes;     /* RLIMIT_STACK */
	uint64_t address_space_bytes; /* RLIMIT_AS; 0 = none (breaks threads) */
};

struct sbx_spec *sbx_spec_new(void);
void sbx_spec_free(struct sbx_spec *spec); /* accepts NULL */

/* Bind host path |src| at |dst| inside (both absolute). A symlink source is
 * recreated as the same symlink. Copies both strings. */
int sbx_spec_bind(struct sbx_spec *spec, const char *src, const char *dst,
                  unsigned flags, struct sbx_error *err);
/* A file with |content| at |dst| inside (e.g. /etc/hosts, /etc/passwd). */
int sbx_spec_file(struct sbx_spec *spec, const char *dst, const char *content,
                  struct sbx_error *err);
/* An extra size-capped tmpfs at |dst|. */
int sbx_spec_tmpfs(struct sbx_spec *spec, const char *dst, uint64_t bytes,
                   struct sbx_error *err);
/* The workspace: |host_dir| appears at |inside| (default "/work"). */
int sbx_spec_workspace(struct sbx_spec *spec, const char *host_dir,
                       const char *inside, enum sbx_workspace_mode mode,
                       struct sbx_error *err);
int sbx_spec_limits(struct sbx_spec *spec, const struct sbx_limits *limits);
int sbx_spec_hostname(struct sbx_spec *spec, const char *name,
                      struct sbx_error *err);
/* uid/gid the commands run as inside (default 1000). As root, the host uid
 * is a fresh one per box (see uidslot.c); unprivileged, it is the caller's. */
int sbx_spec_uid(struct sbx_spec *spec, uid_t inside_uid);
/* Seccomp: the action for syscalls no rule names, then rules in order.
 * |errnum| is used for SBX_ACT_ERRNO (0 = EPERM). Unknown syscall names
 * are an error, except with |optional| (not on this architecture). */
int sbx_spec_seccomp_default(struct sbx_spec *spec, enum sbx_action action,
                             int errnum);
int sbx_spec_seccomp_rule(struct sbx_spec *spec, const char *syscall,
                          enum sbx_action action, int errnum,
                          const struct sbx_arg_cmp *cmps, unsigned ncmp,
                          bool optional, struct sbx_error *err);
/* Turn seccomp off entirely (only for debugging; never the default). */
int sbx_spec_seccomp_disable(struct sbx_spec *spec);
/* Does the host know this syscall name? (for policy validation) */
bool sbx_syscall_known(const char *name);

/* ---- a running box ---------------------------------------------------- */

struct sbx_box; /* opaque */

/* Creates the namespaces, the root filesystem, cgroups and init; returns
 * once init is ready to spawn, or NULL with |err| set. err->host is true
 * when the failure is the host's (namespaces refused, no /proc ...). */
struct sbx_box *sbx_box_create(const struct sbx_spec *spec,
                               struct sbx_error *err);

struct sbx_cmd {
	const char *const *argv;  /* argv[0] is run as given: use absolute paths */
	const char *const *envp;  /* the complete environment, NULL = empty */
	const char *cwd;          /* inside path, NULL = the workspace or / */
	int stdin_fd;             /* -1 = /dev/null; fds are dup'd, not taken */
	int stdout_fd;
	int stderr_fd;
};

/* Starts |cmd| inside; its id is returned in |*proc_id|. The outcome
 * arrives as SBX_EV_SPAWNED or SBX_EV_SPAWN_FAILED, then SBX_EV_EXITED. */
int sbx_box_spawn(struct sbx_box *box, const struct sbx_cmd *cmd,
                  int *proc_id, struct sbx_error *err);
/* Sends |sig| to the process group of command |proc_id|. */
int sbx_box_signal(struct sbx_box *box, int proc_id, int sig,
                   struct sbx_error *err);
/* A socket created in the box's network namespace (for readiness checks
 * and HTTP probes of the app from outside). Returns the fd (caller owns,
 * O_CLOEXEC) or -1. Blocks for one round trip to init. */
int sbx_box_socket(struct sbx_box *box, int domain, int type,
                   struct sbx_error *err);

enum sbx_event_type {
	SBX_EV_NONE = 0,
	SBX_EV_SPAWNED,      /* exec succeeded; pid is the inside pid */
	SBX_EV_SPAWN_FAILED, /* setup or exec failed: errnum and msg say why */
	SBX_EV_EXITED,       /* status is a wait status */
};

struct sbx_event {
	enum sbx_event_type type;
	int proc_id;
	pid_t pid;
	int status;
	int errnum;
	uint64_t cpu_ms;     /* of this command and its waited children */
	uint64_t max_rss_kb;
	char msg[128];
};

/* Readable when events are pending or init died (then read_event < 0). */
int sbx_box_fd(const struct sbx_box *box);
/* Non-blocking: 1 = an event was stored, 0 = none pending, -1 = init is gone
 * (the box is dead: call sbx_box_finish). */
int sbx_box_read_event(struct sbx_box *box, struct sbx_event *ev);
/* Blocking variant with a timeout (ms, -1 = forever); 0 on timeout. */
int sbx_box_wait_event(struct sbx_box *box, struct sbx_event *ev,
                       int timeout_ms);

/* Is something of the box listening on TCP |port| (any address)? Reads the
 * box's /proc/net/tcp{,6}: 1 yes, 0 no, -1 error. */
int sbx_box_listening(struct sbx_box *box, unsigned port);
/* CPU time used by the whole box so far (cgroup), for CPU limits. */
int sbx_box_cpu_ms(struct sbx_box *box, uint64_t *cpu_ms);
/* Opens |path| inside the box's root without following any symlink out of
 * it (openat2 RESOLVE_IN_ROOT, final component not a symlink, regular
 * files only). Returns a fd or -1. Valid until sbx_box_finish. */
int sbx_box_open(struct sbx_box *box, const char *path, struct sbx_error *err);

struct sbx_usage {
	uint64_t cpu_ms;        /* whole box */
	uint64_t max_rss_kb;    /* peak memory of the box (cgroup) or rusage */
	bool oom_killed;        /* the memory limit killed something */
	bool pids_limit_hit;    /* a fork failed at the pids limit */
	bool init_killed;       /* finish had to kill processes still running */
	const char *cgroup;     /* "v2", "v1" or "none" (static string) */
};

/* Kills every process of the box (SIGKILL to init), reaps it and reads the
 * accounting. Idempotent. */
int sbx_box_finish(struct sbx_box *box, struct sbx_usage *usage);
void sbx_box_free(struct sbx_box *box); /* finishes if needed; NULL ok */

pid_t sbx_box_init_pid(const struct sbx_box *box); /* host pid of init */
uid_t sbx_box_host_uid(const struct sbx_box *box);

/* Can this host create boxes? Fills err (err->host) when not. */
int sbx_probe_host(struct sbx_error *err);
/* Which cgroup mode would be used: "v2", "v1" or "none". */
const char *sbx_cgroup_mode(void);

#endif
