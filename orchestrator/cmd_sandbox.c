/* cmd_sandbox.c - `firstpass sandbox`: one command in one box.
 *
 * The keeper loop polls three things: the box's control socket (spawned /
 * exited events), the command's stdout and stderr pipes (forwarded to ours
 * up to a byte cap each), and a signalfd (SIGINT/SIGTERM/SIGHUP end the box
 * too). A 50 ms poll timeout drives the wall-clock and whole-box CPU
 * checks. When the command exits the box is finished at once: anything it
 * left running (a daemon) dies with the pid namespace.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "policy.h"
#include "util.h"

struct sb_opts {
	const char *policy;
	const char *workspace;
	const char *meta;
	int ws_mode;          /* -1 = policy's */
	long wall_s, cpu_s, memory_mb, pids, output_kb;
	char **env;           /* extra KEY=VALUE, owned array of borrowed */
	size_t nenv;
	const char *cwd;
};

struct sb_run {
	uint64_t start_ms, wall_ms, out_cap;
	uint64_t out_bytes[2];
	bool truncated, exited, spawn_failed;
	const char *killed_by;   /* static string or NULL */
	int status;
	char message[256];
};

static void usage(FILE *f)
{
	fputs("usage: firstpass sandbox [options] -- CMD [ARG...]\n"
	      "Runs one command in a sandbox and returns its exit code (128+N for\n"
	      "signal N; 2 usage or policy error; 3 sandbox unavailable here).\n\n"
	      "  --policy NAME|FILE     policy (default: default)\n"
	      "  --workspace DIR        directory shown at the policy's workspace path\n"
	      "  --workspace-mode M     copy (default: writes vanish), rw, ro\n"
	      "  --meta FILE            write accounting as JSON: exit, times, memory,\n"
	      "                         which limit ended the run\n"
	      "  --wall-seconds N       wall-clock limit of the whole box\n"
	      "  --cpu-seconds N        CPU time limit of the whole box\n"
	      "  --memory-mb N          memory limit of the whole box\n"
	      "  --pids N               process limit\n"
	      "  --output-kb N          cap on each of stdout and stderr\n"
	      "  --env KEY=VALUE        add to the policy's environment (repeatable)\n"
	      "  --cwd DIR              working directory inside\n", f);
}

static long parse_pos(const char *flag, const char *v)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n <= 0 || n > 100000000) {
		fprintf(stderr, "firstpass: sandbox: --%s needs a positive number, got '%s'\n",
		        flag, v);
		return -1;
	}
	return n;
}

static int parse_args(int argc, char **argv, struct sb_opts *o)
{
	static const struct option longs[] = {
		{"policy", 1, 0, 'p'}, {"workspace", 1, 0, 'w'}, {"meta", 1, 0, 'm'},
		{"workspace-mode", 1, 0, 'M'}, {"wall-seconds", 1, 0, 'W'},
		{"cpu-seconds", 1, 0, 'C'}, {"memory-mb", 1, 0, 'R'},
		{"pids", 1, 0, 'P'}, {"output-kb", 1, 0, 'O'}, {"env", 1, 0, 'e'},
		{"cwd", 1, 0, 'c'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
	};
	int c, li = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longs, &li)) != -1) {
		long *num = NULL;
		switch (c) {
		case 'p': o->policy = optarg; break;
		case 'w': o->workspace = optarg; break;
		case 'm': o->meta = optarg; break;
		case 'c': o->cwd = optarg; break;
		case 'M':
			o->ws_mode = !strcmp(optarg, "copy") ? SBX_WS_COPY :
			             !strcmp(optarg, "rw") ? SBX_WS_RW :
			             !strcmp(optarg, "ro") ? SBX_WS_RO : -2;
			if (o->ws_mode == -2) {
				fprintf(stderr, "firstpass: sandbox: --workspace-mode must be "
				        "copy, rw or ro, not '%s'\n", optarg);
				return -1;
			}
			break;
		case 'W': num = &o->wall_s; break;
		case 'C': num = &o->cpu_s; break;
		case 'R': num = &o->memory_mb; break;
		case 'P': num = &o->pids; break;
		case 'O': num = &o->output_kb; break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fprintf(stderr, "firstpass: sandbox: --env needs KEY=VALUE, "
				        "got '%s'\n", optarg);
				return -1;
			}
			o->env = fp_xrealloc(o->env, (o->nenv + 1) * sizeof *o->env);
			o->env[o->nenv++] = optarg;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
		if (num && (*num = parse_pos(longs[li].name, optarg)) < 0)
			return -1;
	}
	if (optind >= argc) {
		fputs("firstpass: sandbox: no command given (use -- CMD [ARG...])\n", stderr);
		return -1;
	}
	return optind;
}

/* The policy's environment with --env entries replacing same-named keys. */
static char **build_env(char **pol_env, char **extra, size_t nextra)
{
	size_t n = 0;
	while (pol_env && pol_env[n])
		n++;
	char **env = fp_xcalloc(n + nextra + 1, sizeof *env);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t kl = strcspn(pol_env[i], "=");
		bool overridden = false;
		for (size_t j = 0; j < nextra; j++)
			overridden |= !strncmp(extra[j], pol_env[i], kl + 1);
		if (!overridden)
			env[k++] = pol_env[i];
	}
	for (size_t j = 0; j < nextra; j++)
		env[k++] = extra[j];
	return env;
}

static void forward(int *fd, int out, struct sb_run *r, int idx)
{
	char buf[65536];
	ssize_t n = read(*fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	uint64_t room = r->out_cap > r->out_bytes[idx] ? r->out_cap - r->out_bytes[idx] : 0;
	size_t keep = (uint64_t)n > room ? (size_t)room : (size_t)n;
	for (size_t off = 0; off < keep;) {
		ssize_t w = write(out, buf + off, keep - off);
		if (w <= 0)
			break; /* our own output is gone: keep draining */
		off += (size_t)w;
	}
	r->out_bytes[idx] += keep;
	if ((size_t)n > keep && !r->truncated) {
		r->truncated = true;
		r->killed_by = "output";
		snprintf(r->message, sizeof r->message,
		         "output limit of %llu bytes per stream exceeded",
		         (unsigned long long)r->out_cap);
	}
}

static void check_limits(struct sbx_box *box, const struct fp_policy *pol,
                         struct sb_run *r)
{
	uint64_t cpu;
	if (fp_now_ms() - r->start_ms >= r->wall_ms) {
		r->killed_by = "wall";
		snprintf(r->message, sizeof r->message, "wall-clock limit %llus exceeded",
		         (unsigned long long)(r->wall_ms / 1000));
	} else if (pol->cpu_ms && sbx_box_cpu_ms(box, &cpu) == 0 && cpu >= pol->cpu_ms) {
		r->killed_by = "cpu";
		snprintf(r->message, sizeof r->message, "CPU time limit %llus exceeded",
		         (unsigned long long)(pol->cpu_ms / 1000));
	}
}

static int block_signals(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGHUP);
	sigprocmask(SIG_BLOCK, &s, NULL);
	return signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void run_loop(struct sbx_box *box, const struct fp_policy *pol,
                     int pipes[2], int proc_id, struct sb_run *r)
{
	int sfd = block_signals();
	while (!r->exited && !r->killed_by) {
		struct pollfd p[4] = {
			{ sbx_box_fd(box), POLLIN, 0 }, { pipes[0], POLLIN, 0 },
			{ pipes[1], POLLIN, 0 }, { sfd, POLLIN, 0 },
		};
		if (poll(p, 4, 50) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			forward(&pipes[0], 1, r, 0);
		if (p[2].revents)
			forward(&pipes[1], 2, r, 1);
		if (p[3].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si) {
				r->killed_by = "signal";
				snprintf(r->message, sizeof r->message,
				         "firstpass received signal %u", si.ssi_signo);
			}
		}
		struct sbx_event ev;
		int rc;
		while ((rc = sbx_box_read_event(box, &ev)) == 1) {
			if (ev.proc_id != proc_id)
				continue;
			if (ev.type == SBX_EV_SPAWN_FAILED) {
				r->spawn_failed = r->exited = true;
				snprintf(r->message, sizeof r->message, "cannot run the command: %s",
				         ev.msg);
			} else if (ev.type == SBX_EV_EXITED) {
				r->exited = true;
				r->status = ev.status;
			}
		}
		if (rc < 0 && !r->exited) {
			r->killed_by = r->killed_by ? r->killed_by : "sandbox";
			snprintf(r->message, sizeof r->message, "sandbox init died");
		}
		if (!r->exited && !r->killed_by)
			check_limits(box, pol, r);
	}
	/* What the command wrote just before exiting is still in the pipes. */
	for (int i = 0; i < 2; i++) {
		if (pipes[i] < 0)
			continue;
		fcntl(pipes[i], F_SETFL, O_NONBLOCK);
		for (int k = 0; k < 64 && pipes[i] >= 0 && !r->truncated; k++)
			forward(&pipes[i], i + 1, r, i);
	}
	if (sfd >= 0)
		close(sfd);
}

static void write_meta(const char *path, const struct sb_run *r,
                       const struct sbx_usage *u, uid_t host_uid)
{
	cJSON *j = cJSON_CreateObject();
	bool sig = r->exited && !r->spawn_failed && WIFSIGNALED(r->status);
	const char *status = r->spawn_failed ? "setup_error" : r->killed_by ? "killed" :
	                     sig ? "signaled" : "exited";
	cJSON_AddNumberToObject(j, "version", 1);
	cJSON_AddStringToObject(j, "status", status);
	if (r->exited && !r->spawn_failed && WIFEXITED(r->status))
		cJSON_AddNumberToObject(j, "exit_code", WEXITSTATUS(r->status));
	else
		cJSON_AddNullToObject(j, "exit_code");
	if (sig)
		cJSON_AddNumberToObject(j, "signal", WTERMSIG(r->status));
	else
		cJSON_AddNullToObject(j, "signal");
	if (r->killed_by)
		cJSON_AddStringToObject(j, "killed_by", r->killed_by);
	else
		cJSON_AddNullToObject(j, "killed_by");
	cJSON_AddNumberToObject(j, "wall_ms", (double)(fp_now_ms() - r->start_ms));
	cJSON_AddNumberToObject(j, "cpu_ms", (double)u->cpu_ms);
	cJSON_AddNumberToObject(j, "max_rss_kb", (double)u->max_rss_kb);
	cJSON_AddBoolToObject(j, "oom_killed", u->oom_killed);
	cJSON_AddBoolToObject(j, "pids_limit_hit", u->pids_limit_hit);
	cJSON_AddBoolToObject(j, "cpu_limit_hit", r->killed_by && !strcmp(r->killed_by, "cpu"));
	cJSON_AddBoolToObject(j, "wall_limit_hit", r->killed_by && !strcmp(r->killed_by, "wall"));
	cJSON_AddBoolToObject(j, "output_truncated", r->truncated);
	cJSON_AddNumberToObject(j, "stdout_bytes", (double)r->out_bytes[0]);
	cJSON_AddNumberToObject(j, "stderr_bytes", (double)r->out_bytes[1]);
	cJSON_AddStringToObject(j, "cgroup", u->cgroup ? u->cgroup : "none");
	cJSON_AddNumberToObject(j, "host_uid", (double)host_uid);
	cJSON_AddStringToObject(j, "message", r->message);
	char *s = cJSON_Print(j);
	struct fp_err err;
	size_t n = strlen(s);
	s = fp_xrealloc(s, n + 2);
	s[n] = '\n';
	if (fp_write_file_atomic(path, s, n + 1, &err) < 0)
		fprintf(stderr, "firstpass: sandbox: %s\n", err.msg);
	free(s);
	cJSON_Delete(j);
}

/* Settles which limit ended the run once the kernel's accounting is in. */
static int conclude(struct sb_run *r, const struct sbx_usage *u)
{
	bool sig = r->exited && WIFSIGNALED(r->status);
	if (!r->killed_by && u->oom_killed && (sig || !r->exited)) {
		r->killed_by = "memory";
		snprintf(r->message, sizeof r->message, "killed by the memory limit");
	}
	if (!r->killed_by && sig && WTERMSIG(r->status) == SIGXCPU) {
		r->killed_by = "cpu";
		snprintf(r->message, sizeof r->message, "per-process CPU limit exceeded");
	}
	if (!r->killed_by && u->pids_limit_hit && !(r->exited && r->status == 0))
		snprintf(r->message, sizeof r->message, "the process limit was reached");
	if (r->spawn_failed)
		return 127;
	if (r->killed_by && !r->exited)
		return 128 + SIGKILL;
	return WIFSIGNALED(r->status) ? 128 + WTERMSIG(r->status) : WEXITSTATUS(r->status);
}

static void apply_overrides(const struct sb_opts *o, struct fp_policy *pol)
{
	if (o->wall_s > 0) pol->wall_ms = (uint64_t)o->wall_s * 1000u;
	if (o->cpu_s > 0) pol->cpu_ms = (uint64_t)o->cpu_s * 1000u;
	if (o->memory_mb > 0) pol->limits.memory_bytes = (uint64_t)o->memory_mb << 20;
	if (o->pids > 0) pol->limits.pids = (uint32_t)o->pids;
	if (o->output_kb > 0) pol->output_bytes = (uint64_t)o->output_kb << 10;
	if (o->ws_mode >= 0) pol->workspace_mode = (enum sbx_workspace_mode)o->ws_mode;
	sbx_spec_limits(pol->spec, &pol->limits);
}

static int run_box(const struct sb_opts *o, struct fp_policy *pol, char **cmd)
{
	struct sbx_error serr;
	if (o->workspace && sbx_spec_workspace(pol->spec, o->workspace,
	                    pol->workspace_path, pol->workspace_mode, &serr) < 0) {
		fprintf(stderr, "firstpass: sandbox: %s\n", serr.msg);
		return FP_EXIT_USAGE;
	}
	struct sbx_box *box = sbx_box_create(pol->spec, &serr);
	if (!box) {
		fprintf(stderr, "firstpass: sandbox: %s\n", serr.msg);
		return serr.host ? FP_EXIT_HOST : FP_EXIT_USAGE;
	}
	int out[2], errp[2];
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		perror("firstpass: sandbox: pipe");
		sbx_box_free(box);
		return FP_EXIT_HOST;
	}
	char **env = build_env(pol->env, o->env, o->nenv);
	struct sbx_cmd c = {
		.argv = (const char *const *)cmd, .envp = (const char *const *)env,
		.cwd = o->cwd, .stdin_fd = isatty(0) ? -1 : 0,
		.stdout_fd = out[1], .stderr_fd = errp[1],
	};
	struct sb_run r = { .start_ms = fp_now_ms(), .wall_ms = pol->wall_ms ? pol->wall_ms : UINT64_MAX,
	                    .out_cap = pol->output_bytes ? pol->output_bytes : UINT64_MAX };
	int id = 0;
	int rc = sbx_box_spawn(box, &c, &id, &serr);
	close(out[1]);
	close(errp[1]);
	free(env);
	int pipes[2] = { out[0], errp[0] };
	if (rc < 0) {
		fprintf(stderr, "firstpass: sandbox: %s\n", serr.msg);
		r.spawn_failed = true;
	} else {
		run_loop(box, pol, pipes, id, &r);
	}
	struct sbx_usage u;
	sbx_box_finish(box, &u);
	for (int i = 0; i < 2; i++)
		if (pipes[i] >= 0)
			close(pipes[i]);
	int code = conclude(&r, &u);
	if (r.message[0] && (r.killed_by || r.spawn_failed))
		fprintf(stderr, "firstpass: sandbox: %s\n", r.message);
	if (o->meta)
		write_meta(o->meta, &r, &u, sbx_box_host_uid(box));
	sbx_box_free(box);
	return code;
}

int fp_cmd_sandbox(int argc, char **argv)
{
	struct sb_opts o = { .policy = "default", .ws_mode = -1 };
	int first = parse_args(argc, argv, &o);
	if (first < 0) {
		free(o.env);
		return FP_EXIT_USAGE;
	}
	struct fp_policy pol;
	struct fp_err err;
	if (fp_policy_load(o.policy, &pol, &err) < 0) {
		fprintf(stderr, "firstpass: sandbox: %s\n", err.msg);
		free(o.env);
		return FP_EXIT_USAGE;
	}
	apply_overrides(&o, &pol);
	int code = run_box(&o, &pol, argv + first);
	fp_policy_free(&pol);
	free(o.env);
	return code;
}
