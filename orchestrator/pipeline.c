/* pipeline.c - one candidate from model output to verdict, many at once.
 *
 * Theory of operation
 *   Everything runs on the caller's single event loop; nothing here blocks
 *   except sbx_box_create (a few ms) and sbx_box_finish (kill + reap).
 *
 *   add_*: validate the file map (synchronously) and materialize it into
 *   <out>/candidates/<id>/files/. A map identical (sha256) to an earlier one
 *   is not run again: it waits for the original's verdict and copies it.
 *   Otherwise the candidate is queued.
 *
 *   pump: while fewer than |jobs| boxes run, the oldest queued candidate gets
 *   a box: the policy's spec with files/ as the workspace (overlay by
 *   default, so the app's writes never reach files/). Then
 *     start  spawn the start command, stdout+stderr into a pipe we copy to
 *            app.log (capped); poll sbx_box_listening every 15 ms (no fixed
 *            sleep) until the port is open, the app exits, or the start
 *            timeout fires;
 *     probe  a socket made inside the box's network namespace connects to
 *            127.0.0.1:port and sends one HTTP/1.0 request; a 2xx status
 *            line lets the candidate go on;
 *     test   spawn the test command in the same box while the app runs;
 *            test.log as above; at its exit read /tmp/fp-junit.xml through
 *            sbx_box_open (never following a symlink out of the box).
 *   Over all phases run a wall-clock timer (policy wall_ms) and a CPU poll
 *   (policy cpu_ms against the box's cgroup).
 *
 *   end_box: cancel timers, stop watching, sbx_box_finish (kills init and
 *   therefore every process of the box), read accounting, then conclude:
 *   meta.json, feedback for the next round, the callback, and the
 *   scheduler's duties (copy the verdict to waiting duplicates, first-pass
 *   cancellation of every other box, start queued candidates).
 *
 *   A box that cannot be created is never a test failure: verdict error
 *   "sandbox: ..."; when the host is at fault the pipe stops and the caller
 *   exits 3.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline.h"
#include "results.h"
#include "sandbox.h"

#define POLL_LISTEN_MS 15   /* readiness poll: app start is ~170 ms */
#define POLL_CPU_MS 200
#define DRAIN_READS_MAX 64  /* per callback, so one noisy box can't starve */
#define JUNIT_CAP (4u << 20)
#define PROBE_CAP 4096
#define FEEDBACK_SUMMARY_CAP 2048
#define FEEDBACK_TAIL_CAP 1536
#define FEEDBACK_FILES_CAP (24u << 10)
#define JUNIT_INSIDE "/tmp/fp-junit.xml"

struct fp_sink {
	struct fp_cand_rt *rt;
	int rfd;          /* read end of the output pipe, -1 when closed */
	int file_fd;      /* the log file, -1 when closed */
	uint64_t written;
	uint64_t cap;
	bool truncated;
};

struct fp_cand_rt {
	struct fp_pipe *pipe;
	struct fp_cand *c;
	struct sbx_box *box;   /* owned while the candidate runs */
	bool has_slot;
	int app_proc, test_proc;
	bool sig_death;        /* the deciding process died by a signal */
	struct fp_sink app, test;
	struct fp_timer *poll_t, *phase_t, *wall_t, *cpu_t;
	int probe_fd;
	bool probe_sent;
	struct fp_buf probe_buf;
};

struct fp_pipe {
	struct fp_loop *loop;
	struct fp_pipe_opts o;
	fp_pipe_cb *cb;
	void *cb_arg;
	struct fp_cand **cands; /* owned */
	size_t n, alloc;
	int running;
	bool stopping;          /* no new boxes: winner found or host failure */
	int winner;             /* index or -1 */
	uint64_t cancel_latency_ms;
	char *host_err;         /* owned */
	bool host_err_config;   /* the policy, not the host, is at fault */
};

static void conclude(struct fp_pipe *p, struct fp_cand *c);
static void pump(struct fp_pipe *p);
static void test_begin(struct fp_cand_rt *rt);

const char *fp_verdict_name(enum fp_verdict v)
{
	static const char *const names[FP_V_COUNT] = {
		"none", "passed", "failed", "error", "timeout", "invalid",
		"cancelled",
	};
	return (unsigned)v < FP_V_COUNT ? names[v] : "?";
}

const char *fp_phase_name(enum fp_phase ph)
{
	switch (ph) {
	case FP_PH_VALIDATE: return "validate";
	case FP_PH_START: return "start";
	case FP_PH_PROBE: return "probe";
	case FP_PH_TEST: return "test";
	case FP_PH_QUEUED: return "queued";
	case FP_PH_DONE: return "done";
	}
	return "?";
}

static uint64_t rel_ms(const struct fp_pipe *p)
{
	return fp_now_ms() - p->o.t0_ms;
}

/* "30s" for whole seconds, else "1500ms": limits are shown as configured. */
static const char *fmt_dur(uint64_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	return buf;
}

__attribute__((format(printf, 3, 4)))
static void set_verdict(struct fp_cand *c, enum fp_verdict v,
                        const char *fmt, ...)
{
	va_list ap;

	c->verdict = v;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof c->reason, fmt, ap);
	va_end(ap);
	/* Reasons are one line: model text may carry newlines or escapes. */
	for (char *s = c->reason; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* ---- available modules (missing-module advice) ---------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A top-level importable name from a directory entry, or false. */
static bool module_name(const char *ent, char *out, size_t len)
{
	size_t n = strcspn(ent, ".-");

	if (ent[0] == '_' || ent[0] == '.' || n == 0 || n >= len)
		return false;
	if (strstr(ent, ".dist-info") || strstr(ent, ".egg-info") ||
	    strstr(ent, ".pth"))
		return false;
	if (ent[n] == '-')
		return false;
	if (ent[n] == '.' && strcmp(ent + n, ".py") != 0 &&
	    !strstr(ent + n, ".so"))
		return false;
	memcpy(out, ent, n);
	out[n] = '\0';
	return strcmp(out, "test") != 0 && strcmp(out, "site") != 0;
}

static void scan_modules(const char *dir, char ***names, size_t *n,
                         size_t *alloc)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char name[128];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!module_name(e->d_name, name, sizeof name))
			continue;
		if (*n == *alloc) {
			*alloc = *alloc ? *alloc * 2 : 256;
			*names = fp_xrealloc(*names, *alloc * sizeof **names);
		}
		(*names)[(*n)++] = fp_strdup(name);
	}
	closedir(d);
}

const char *fp_available_modules(void)
{
	static char *cached;
	static const char *const dirs[] = {
		"/usr/lib/python3/dist-packages", "/usr/lib/python3.11",
		"/usr/local/lib/python3.11/dist-packages",
	};
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct fp_buf b;

	if (cached)
		return cached;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		scan_modules(dirs[i], &names, &n, &alloc);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	fp_buf_init(&b, 6000);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
			fp_buf_printf(&b, "%s%s", b.len ? ", " : "", names[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	cached = b.data ? fp_buf_steal(&b) : fp_strdup("(none found)");
	return cached;
}

/* ---- commands --------------------------------------------------------- */

static void free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* Splits |cmd| on spaces. "python"/"python3" become the policy's
 * interpreter (absolute: the sandbox does no PATH lookup); anything with
 * shell syntax or a bare program name goes through /bin/sh -c. */
static char **build_argv(const char *cmd, const char *python)
{
	char **argv;
	size_t n = 0;
	char *copy, *save = NULL;

	if (strpbrk(cmd, "|&;<>()$`\\\"'*?[#~{}\n") == NULL) {
		argv = fp_xcalloc(strlen(cmd) / 2 + 2, sizeof *argv);
		copy = fp_strdup(cmd);
		for (char *t = strtok_r(copy, " \t", &save); t;
		     t = strtok_r(NULL, " \t", &save))
			argv[n++] = fp_strdup(t);
		free(copy);
		if (n && (!strcmp(argv[0], "python3") ||
		          !strcmp(argv[0], "python"))) {
			free(argv[0]);
			argv[0] = fp_strdup(python);
		}
		if (n && argv[0][0] == '/')
			return argv;
		free_argv(argv);
	}
	argv = fp_xcalloc(4, sizeof *argv);
	argv[0] = fp_strdup("/bin/sh");
	argv[1] = fp_strdup("-c");
	argv[2] = fp_strdup(cmd);
	return argv;
}

/* ---- output capture --------------------------------------------------- */

static void sink_init(struct fp_sink *s, struct fp_cand_rt *rt, uint64_t cap)
{
	s->rt = rt;
	s->rfd = -1;
	s->file_fd = -1;
	s->written = 0;
	s->cap = cap;
	s->truncated = false;
}

static void sink_store(struct fp_sink *s, const char *data, size_t n)
{
	if (s->written + n > s->cap) {
		s->truncated = true;
		n = s->written < s->cap ? (size_t)(s->cap - s->written) : 0;
	}
	while (n > 0 && s->file_fd >= 0) {
		ssize_t w = write(s->file_fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		data += w;
		n -= (size_t)w;
		s->written += (uint64_t)w;
	}
}

static void sink_close(struct fp_sink *s)
{
	if (s->rfd >= 0) {
		fp_loop_unwatch(s->rt->pipe->loop, s->rfd);
		close(s->rfd);
		s->rfd = -1;
	}
	if (s->file_fd >= 0) {
		close(s->file_fd);
		s->file_fd = -1;
	}
}

/* Reads what is in the pipe now (bounded: the loop calls again). */
static void sink_drain(struct fp_sink *s)
{
	char buf[16384];

	for (int i = 0; i < DRAIN_READS_MAX && s->rfd >= 0; i++) {
		ssize_t n = read(s->rfd, buf, sizeof buf);
		if (n > 0) {
			sink_store(s, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		fp_loop_unwatch(s->rt->pipe->loop, s->rfd);
		close(s->rfd);
		s->rfd = -1;
	}
}

static void sink_on_read(void *arg, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	sink_drain(arg);
}

/* ---- log analysis ----------------------------------------------------- */

static char *read_log(const struct fp_cand *c, const char *name, size_t cap,
                      size_t *len)
{
	char path[4096];
	char *data = NULL;
	struct stat st;
	int fd;

	*len = 0;
	snprintf(path, sizeof path, "%s/%s", c->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	/* Only the last |cap| bytes matter: tracebacks end at the bottom. */
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > cap)
		lseek(fd, st.st_size - (off_t)cap, SEEK_SET);
	data = fp_xmalloc(cap + 1);
	for (;;) {
		ssize_t r = read(fd, data + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	close(fd);
	data[*len] = '\0';
	return data;
}

/* The last non-blank line (trimmed, capped) of |text|, or "" . */
static void last_line(const char *text, size_t len, char *out, size_t outlen)
{
	size_t end = len, start;

	out[0] = '\0';
	while (end > 0 && isspace((unsigned char)text[end - 1]))
		end--;
	start = end;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	while (start < end && isspace((unsigned char)text[start]))
		start++;
	if (end - start >= outlen)
		end = start + outlen - 1;
	memcpy(out, text + start, end - start);
	out[end - start] = '\0';
}

/* The first line starting with |prefix| (after spaces), trimmed. */
static bool find_line(const char *text, const char *prefix, char *out,
                      size_t outlen)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
		const char *s = l, *e;
		while (*s == ' ' || *s == '\t')
			s++;
		if (strncmp(s, prefix, strlen(prefix)) != 0)
			continue;
		s += strlen(prefix);
		while (*s == ' ')
			s++;
		e = strchr(s, '\n');
		if (!e)
			e = s + strlen(s);
		if ((size_t)(e - s) >= outlen)
			e = s + outlen - 1;
		memcpy(out, s, (size_t)(e - s));
		out[e - s] = '\0';
		return true;
	}
	return false;
}

static char *find_missing_module(const char *text)
{
	static const char key[] = "No module named '";
	const char *s = text ? strstr(text, key) : NULL;
	size_t n;

	if (!s)
		return NULL;
	s += sizeof key - 1;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	              "0123456789_.");
	if (n == 0 || n > 100 || s[n] != '\'')
		return NULL;
	return strndup(s, n);
}

static void counts_text(const struct fp_test_counts *t, char *out,
                        size_t len)
{
	size_t off = 0;
	struct { long v; const char *what; } parts[] = {
		{ t->failed, "failed" }, { t->errors, "errors" },
		{ t->passed, "passed" }, { t->skipped, "skipped" },
	};

	out[0] = '\0';
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		if (parts[i].v <= 0 || off >= len)
			continue;
		off += (size_t)snprintf(out + off, len - off, "%s%ld %s",
		                        off ? ", " : "", parts[i].v,
		                        parts[i].what);
	}
	if (!out[0])
		snprintf(out, len, "0 passed");
}

/* ---- feedback for the next round ------------------------------------- */

static bool summary_line(const char *l, size_t n)
{
	if (n > 2 && !strncmp(l, "E ", 2))
		return true;
	if ((n > 7 && !strncmp(l, "FAILED ", 7)) ||
	    (n > 6 && !strncmp(l, "ERROR ", 6)))
		return true;
	/* pytest's final line: "1 failed, 5 passed in 0.40s" (maybe in ===) */
	return memmem(l, n, " in ", 4) &&
	       (memmem(l, n, "passed", 6) || memmem(l, n, "failed", 6) ||
	        memmem(l, n, "error", 5));
}

static void add_pytest_summary(struct fp_buf *b, const char *log)
{
	struct fp_buf s;

	fp_buf_init(&s, FEEDBACK_SUMMARY_CAP);
	for (const char *l = log; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (summary_line(l, n)) {
			fp_buf_append(&s, l, n);
			fp_buf_append(&s, "\n", 1);
		}
		l = e ? e + 1 : NULL;
	}
	if (s.len) {
		fp_buf_printf(b, "pytest summary:\n%s%s", s.data,
		              s.truncated ? "[...]\n" : "");
	}
	fp_buf_free(&s);
}

static void add_tail(struct fp_buf *b, const struct fp_cand *c,
                     const char *log, const char *title)
{
	size_t len;
	char *t = read_log(c, log, FEEDBACK_TAIL_CAP, &len);

	if (t && len)
		fp_buf_printf(b, "%s (last %zu bytes):\n%s\n", title, len, t);
	free(t);
}

static void add_files(struct fp_buf *b, const struct fp_cand *c)
{
	struct fp_buf f;

	fp_buf_init(&f, FEEDBACK_FILES_CAP);
	for (size_t i = 0; i < c->files.n; i++) {
		const struct fp_file *x = &c->files.files[i];
		fp_buf_printf(&f, "--- %s ---\n", x->path);
		fp_buf_append(&f, x->data, strnlen(x->data, x->len));
		fp_buf_append(&f, "\n", 1);
	}
	if (f.len)
		fp_buf_printf(b, "Files of %s%s:\n%s\n", c->id,
		              f.truncated ? " (truncated)" : "", f.data);
	fp_buf_free(&f);
}

/* A concise summary of why |c| did not pass, for the next prompt. */
static char *build_feedback(const struct fp_pipe *p, const struct fp_cand *c)
{
	struct fp_buf b;
	size_t len;
	char *log;

	fp_buf_init(&b, 8192 + (p->o.repair ? FEEDBACK_FILES_CAP + 256 : 0));
	fp_buf_printf(&b, "### candidate %s: %s: %s\n", c->id,
	              fp_verdict_name(c->verdict), c->reason);
	if (c->ph[FP_PH_TEST].ran) {
		log = read_log(c, "test.log", 256u << 10, &len);
		if (c->verdict == FP_V_FAILED)
			add_pytest_summary(&b, log);
		else
			add_tail(&b, c, "test.log", "test output");
		free(log);
	} else if (c->ph[FP_PH_START].ran) {
		add_tail(&b, c, "app.log", "app output");
	}
	if (c->missing_module)
		fp_buf_printf(&b, "The module '%s' is not installed and nothing "
		              "can be installed (no pip, no network). Use only "
		              "these available modules: %s\n", c->missing_module,
		              fp_available_modules());
	if (p->o.repair && c->files.n) {
		add_files(&b, c);
		fp_buf_printf(&b, "Repair this candidate rather than rewriting "
		              "it from scratch.\n");
	}
	return fp_buf_steal(&b);
}

/* ---- the box's lifecycle ---------------------------------------------- */

static void cancel_timer(struct fp_pipe *p, struct fp_timer **t)
{
	fp_timer_cancel(p->loop, *t);
	*t = NULL;
}

static void enter_phase(struct fp_cand_rt *rt, enum fp_phase ph)
{
	struct fp_cand *c = rt->c;
	struct fp_pipe *p = rt->pipe;
	uint64_t now = rel_ms(p);

	if (c->phase < FP_PH_COUNT && c->ph[c->phase].ran)
		c->ph[c->phase].wall_ms = now - c->ph[c->phase].started_ms;
	c->phase = ph;
	c->ph[ph].ran = true;
	c->ph[ph].started_ms = now;
	if (p->cb)
		p->cb(p->cb_arg, c);
}

static void rec_status(struct fp_phase_rec *r, int status)
{
	r->has_status = true;
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* Tears the box down and concludes with the verdict already set on c. */
static void teardown(struct fp_cand_rt *rt)
{
	struct fp_pipe *p = rt->pipe;
	struct fp_cand *c = rt->c;
	struct sbx_usage u;
	char phase[16];

	cancel_timer(p, &rt->poll_t);
	cancel_timer(p, &rt->phase_t);
	cancel_timer(p, &rt->wall_t);
	cancel_timer(p, &rt->cpu_t);
	if (rt->probe_fd >= 0) {
		fp_loop_unwatch(p->loop, rt->probe_fd);
		close(rt->probe_fd);
		rt->probe_fd = -1;
	}
	if (rt->box) {
		fp_loop_unwatch(p->loop, sbx_box_fd(rt->box));
		memset(&u, 0, sizeof u);
		sbx_box_finish(rt->box, &u);
		sbx_box_free(rt->box);
		rt->box = NULL;
		c->res.cpu_ms = u.cpu_ms;
		c->res.max_rss_kb = u.max_rss_kb;
		c->res.oom_killed = u.oom_killed;
		c->res.pids_limit_hit = u.pids_limit_hit;
		snprintf(phase, sizeof phase, "%s", fp_phase_name(c->phase));
		if (u.oom_killed && rt->sig_death && c->verdict != FP_V_CANCELLED)
			set_verdict(c, FP_V_ERROR, "%s: killed by memory limit",
			            phase);
		else if (u.pids_limit_hit && c->verdict != FP_V_PASSED &&
		         c->verdict != FP_V_CANCELLED)
			strncat(c->reason, " (process limit reached)",
			        sizeof c->reason - strlen(c->reason) - 1);
	}
	/* The box is dead: whatever is left in the pipes is final. */
	sink_drain(&rt->app);
	sink_drain(&rt->test);
	sink_close(&rt->app);
	sink_close(&rt->test);
	c->res.output_truncated = rt->app.truncated || rt->test.truncated;
	if (rt->has_slot) {
		rt->has_slot = false;
		p->running--;
	}
	conclude(p, c);
}

__attribute__((format(printf, 3, 4)))
static void end_box(struct fp_cand_rt *rt, enum fp_verdict v,
                    const char *fmt, ...)
{
	va_list ap;
	char reason[sizeof rt->c->reason];

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	set_verdict(rt->c, v, "%s", reason);
	teardown(rt);
}

static void on_wall(void *arg)
{
	struct fp_cand_rt *rt = arg;
	char d[32];

	rt->wall_t = NULL;
	rt->c->res.wall_limit_hit = true;
	end_box(rt, FP_V_TIMEOUT, "%s: wall-clock limit %s exceeded",
	        fp_phase_name(rt->c->phase),
	        fmt_dur(rt->pipe->o.policy->wall_ms, d, sizeof d));
}

static void on_cpu(void *arg)
{
	struct fp_cand_rt *rt = arg;
	const struct fp_policy *pol = rt->pipe->o.policy;
	uint64_t ms = 0;
	char d[32];

	rt->cpu_t = NULL;
	if (sbx_box_cpu_ms(rt->box, &ms) == 0 && ms >= pol->cpu_ms) {
		rt->c->res.cpu_limit_hit = true;
		end_box(rt, FP_V_TIMEOUT, "%s: CPU limit %s exceeded",
		        fp_phase_name(rt->c->phase),
		        fmt_dur(pol->cpu_ms, d, sizeof d));
		return;
	}
	rt->cpu_t = fp_loop_timer(rt->pipe->loop, POLL_CPU_MS, on_cpu, rt);
}

/* Spawns |cmdline| with stdout+stderr captured into <dir>/<logname>. */
static int spawn_logged(struct fp_cand_rt *rt, const char *cmdline,
                        struct fp_sink *s, const char *logname,
                        int *proc_id, struct sbx_error *e)
{
	const struct fp_policy *pol = rt->pipe->o.policy;
	char path[4096];
	char **argv;
	int pfd[2], r;
	struct sbx_cmd cmd;

	snprintf(path, sizeof path, "%s/%s", rt->c->dir, logname);
	s->file_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	                  O_NOFOLLOW, 0644);
	if (s->file_fd < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		e->errnum = errno;
		snprintf(e->msg, sizeof e->msg, "cannot capture '%s': %s",
		         logname, strerror(errno));
		return -1;
	}
	/* Only our end is non-blocking: the program inside must block on a
	 * full pipe rather than see EAGAIN. */
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	argv = build_argv(cmdline, pol->python);
	cmd.argv = (const char *const *)argv;
	cmd.envp = (const char *const *)pol->env;
	cmd.cwd = pol->workspace_path;
	cmd.stdin_fd = -1;
	cmd.stdout_fd = pfd[1];
	cmd.stderr_fd = pfd[1];
	r = sbx_box_spawn(rt->box, &cmd, proc_id, e);
	free_argv(argv);
	close(pfd[1]);
	s->rfd = pfd[0];
	fp_loop_watch(rt->pipe->loop, s->rfd, EPOLLIN, sink_on_read, s);
	return r;
}

/* ---- start ------------------------------------------------------------ */

static void on_start_timeout(void *arg)
{
	struct fp_cand_rt *rt = arg;
	char d[32];

	rt->phase_t = NULL;
	end_box(rt, FP_V_TIMEOUT, "start: app not listening on port %u after %s",
	        rt->pipe->o.port,
	        fmt_dur(rt->pipe->o.policy->start_timeout_ms, d, sizeof d));
}

static void probe_begin(struct fp_cand_rt *rt);

static void on_listen_poll(void *arg)
{
	struct fp_cand_rt *rt = arg;
	int r;

	rt->poll_t = NULL;
	r = sbx_box_listening(rt->box, rt->pipe->o.port);
	if (r < 0) {
		end_box(rt, FP_V_ERROR, "sandbox: cannot read the box's "
		        "listening sockets");
		return;
	}
	if (r == 0) {
		rt->poll_t = fp_loop_timer(rt->pipe->loop, POLL_LISTEN_MS,
		                           on_listen_poll, rt);
		return;
	}
	cancel_timer(rt->pipe, &rt->phase_t);
	if (rt->pipe->o.probe)
		probe_begin(rt);
	else
		test_begin(rt);
}

/* The app exited before it listened: name the cause from its output. */
static void app_died(struct fp_cand_rt *rt, int status)
{
	struct fp_cand *c = rt->c;
	char line[300] = "";
	size_t len;
	char *log;

	sink_drain(&rt->app);
	if (WIFSIGNALED(status)) {
		rt->sig_death = true;
		end_box(rt, FP_V_ERROR, "start: killed by signal %d",
		        WTERMSIG(status));
		return;
	}
	log = read_log(c, "app.log", 8192, &len);
	if (log)
		last_line(log, len, line, sizeof line);
	free(log);
	if (WEXITSTATUS(status) != 0 && line[0])
		end_box(rt, FP_V_ERROR, "start: %s", line);
	else
		end_box(rt, FP_V_ERROR, "start: exited with status %d before "
		        "listening on port %u", WEXITSTATUS(status),
		        rt->pipe->o.port);
}

static void start_begin(struct fp_cand_rt *rt)
{
	struct fp_pipe *p = rt->pipe;
	const struct fp_policy *pol = p->o.policy;
	char def[4200];
	const char *cmd = p->o.start_cmd;
	struct sbx_error e;

	memset(&e, 0, sizeof e);
	if (!cmd) {
		snprintf(def, sizeof def, "%s api/main.py", pol->python);
		cmd = def;
	}
	enter_phase(rt, FP_PH_START);
	if (spawn_logged(rt, cmd, &rt->app, "app.log", &rt->app_proc, &e) < 0) {
		end_box(rt, FP_V_ERROR, "sandbox: %s", e.msg);
		return;
	}
	rt->phase_t = fp_loop_timer(p->loop, pol->start_timeout_ms,
	                            on_start_timeout, rt);
	rt->poll_t = fp_loop_timer(p->loop, POLL_LISTEN_MS, on_listen_poll, rt);
}

/* ---- probe ------------------------------------------------------------ */

static void on_probe_timeout(void *arg)
{
	struct fp_cand_rt *rt = arg;
	char d[32];

	rt->phase_t = NULL;
	end_box(rt, FP_V_TIMEOUT, "probe: no response to %s after %s",
	        rt->pipe->o.probe,
	        fmt_dur(rt->pipe->o.policy->probe_timeout_ms, d, sizeof d));
}

/* The status code of an HTTP status line ("HTTP/1.1 200 OK"), else -1.
 * The line comes from the candidate's app: strtol, not sscanf's %d, whose
 * overflow is undefined. */
static long http_status(const char *line)
{
	const char *sp = strchr(line, ' ');
	char *end = NULL;
	long code;

	if (strncmp(line, "HTTP/", 5) != 0 || !sp ||
	    strspn(line + 5, "0123456789.") != (size_t)(sp - line - 5))
		return -1;
	errno = 0;
	code = strtol(sp + 1, &end, 10);
	return end == sp + 1 || errno ? -1 : code;
}

/* Returns 1 when a verdict on the status line was reached. */
static int probe_check(struct fp_cand_rt *rt, bool eof)
{
	const char *s = rt->probe_buf.data;
	char line[160];
	long code;

	if (!s || !strchr(s, '\n')) {
		if (!eof && !rt->probe_buf.truncated)
			return 0;
		end_box(rt, FP_V_ERROR, "probe: %s: connection closed without "
		        "a response", rt->pipe->o.probe);
		return 1;
	}
	snprintf(line, sizeof line, "%.*s", (int)strcspn(s, "\r\n"), s);
	code = http_status(line);
	if (code < 200 || code > 299) {
		end_box(rt, FP_V_ERROR, "probe: %s returned '%s'",
		        rt->pipe->o.probe, line);
		return 1;
	}
	fp_loop_unwatch(rt->pipe->loop, rt->probe_fd);
	close(rt->probe_fd);
	rt->probe_fd = -1;
	cancel_timer(rt->pipe, &rt->phase_t);
	test_begin(rt);
	return 1;
}

static void on_probe_io(void *arg, int fd, uint32_t events)
{
	struct fp_cand_rt *rt = arg;
	char req[600], buf[1024];
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	ssize_t n;

	(void)events;
	if (!rt->probe_sent) {
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		n = snprintf(req, sizeof req, "%s HTTP/1.0\r\nHost: 127.0.0.1:%u"
		             "\r\nConnection: close\r\n\r\n", rt->pipe->o.probe,
		             rt->pipe->o.port);
		if (soerr || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			end_box(rt, FP_V_ERROR, "probe: %s: %s", rt->pipe->o.probe,
			        strerror(soerr ? soerr : errno));
			return;
		}
		rt->probe_sent = true;
		fp_loop_watch(rt->pipe->loop, fd, EPOLLIN, on_probe_io, rt);
		return;
	}
	n = recv(fd, buf, sizeof buf, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		fp_buf_append(&rt->probe_buf, buf, (size_t)n);
	probe_check(rt, n <= 0);
}

static void probe_begin(struct fp_cand_rt *rt)
{
	struct fp_pipe *p = rt->pipe;
	struct sockaddr_in sa;
	struct sbx_error e;
	int fd;

	memset(&e, 0, sizeof e);
	enter_phase(rt, FP_PH_PROBE);
	fd = sbx_box_socket(rt->box, AF_INET, SOCK_STREAM, &e);
	if (fd < 0) {
		end_box(rt, FP_V_ERROR, "sandbox: %s", e.msg);
		return;
	}
	rt->probe_fd = fd;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)p->o.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
	    errno != EINPROGRESS) {
		end_box(rt, FP_V_ERROR, "probe: cannot connect to port %u: %s",
		        p->o.port, strerror(errno));
		return;
	}
	rt->phase_t = fp_loop_timer(p->loop, p->o.policy->probe_timeout_ms,
	                            on_probe_timeout, rt);
	fp_loop_watch(p->loop, fd, EPOLLOUT, on_probe_io, rt);
}

/* ---- test ------------------------------------------------------------- */

static void on_test_timeout(void *arg)
{
	struct fp_cand_rt *rt = arg;
	char d[32];

	rt->phase_t = NULL;
	rt->c->res.wall_limit_hit = true;
	end_box(rt, FP_V_TIMEOUT, "test: wall-clock limit %s exceeded",
	        fmt_dur(rt->pipe->o.policy->test_timeout_ms, d, sizeof d));
}

static void test_begin(struct fp_cand_rt *rt)
{
	struct fp_pipe *p = rt->pipe;
	const struct fp_policy *pol = p->o.policy;
	char def[4200];
	const char *cmd = p->o.test_cmd;
	struct sbx_error e;

	memset(&e, 0, sizeof e);
	if (!cmd) {
		snprintf(def, sizeof def, "%s -m pytest -q -p no:cacheprovider "
		         "--junitxml=" JUNIT_INSIDE, pol->python);
		cmd = def;
	}
	enter_phase(rt, FP_PH_TEST);
	if (spawn_logged(rt, cmd, &rt->test, "test.log", &rt->test_proc,
	                 &e) < 0) {
		end_box(rt, FP_V_ERROR, "sandbox: %s", e.msg);
		return;
	}
	rt->phase_t = fp_loop_timer(p->loop, pol->test_timeout_ms,
	                            on_test_timeout, rt);
}

/* Copies the JUnit file out of the box (capped) and parses the counts.
 * Falls back to pytest's summary line in test.log. */
static void collect_counts(struct fp_cand_rt *rt)
{
	struct fp_cand *c = rt->c;
	struct sbx_error e;
	struct fp_err err;
	char path[4096];
	char *xml = NULL, *log;
	size_t len = 0;
	int fd;

	memset(&e, 0, sizeof e);
	fd = sbx_box_open(rt->box, JUNIT_INSIDE, &e);
	if (fd >= 0) {
		xml = fp_xmalloc(JUNIT_CAP + 1);
		for (;;) {
			ssize_t r = read(fd, xml + len, JUNIT_CAP - len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			len += (size_t)r;
		}
		close(fd);
		xml[len] = '\0';
		snprintf(path, sizeof path, "%s/junit.xml", c->dir);
		fp_write_file_atomic(path, xml, len, &err);
		if (fp_junit_parse(xml, len, &c->tests, &err) == 0) {
			free(xml);
			return;
		}
		free(xml);
	}
	log = read_log(c, "test.log", 64u << 10, &len);
	if (!log || fp_pytest_summary_parse(log, len, &c->tests, &err) < 0)
		c->tests.passed = c->tests.failed = c->tests.errors =
			c->tests.skipped = -1;
	free(log);
}

static void test_error_reason(struct fp_cand_rt *rt, int code)
{
	char detail[300] = "";
	size_t len;
	char *log = read_log(rt->c, "test.log", 256u << 10, &len);

	if (code == 5) {
		end_box(rt, FP_V_ERROR, "test: no tests collected");
	} else if (code == 2 || code == 3) {
		if (!log || (!find_line(log, "E ", detail, sizeof detail) &&
		             !find_line(log, "ERROR ", detail, sizeof detail)))
			snprintf(detail, sizeof detail, "pytest exited with "
			         "status %d", code);
		end_box(rt, FP_V_ERROR, "test: %s: %s", code == 2 ?
		        "collection error" : "internal error", detail);
	} else if (code == 4) {
		if (!log || !find_line(log, "ERROR:", detail, sizeof detail))
			snprintf(detail, sizeof detail, "bad arguments");
		end_box(rt, FP_V_ERROR, "test: usage error: %s", detail);
	} else {
		end_box(rt, FP_V_ERROR, "test: exited with status %d", code);
	}
	free(log);
}

static void test_done(struct fp_cand_rt *rt, int status)
{
	struct fp_cand *c = rt->c;
	char counts[160];

	cancel_timer(rt->pipe, &rt->phase_t);
	rec_status(&c->ph[FP_PH_TEST], status);
	sink_drain(&rt->test);
	collect_counts(rt);
	counts_text(&c->tests, counts, sizeof counts);
	if (WIFSIGNALED(status)) {
		rt->sig_death = true;
		end_box(rt, FP_V_ERROR, "test: killed by signal %d",
		        WTERMSIG(status));
	} else if (WEXITSTATUS(status) == 0) {
		if (c->tests.passed >= 0)
			end_box(rt, FP_V_PASSED, "test: %s", counts);
		else
			end_box(rt, FP_V_PASSED, "test: passed");
	} else if (WEXITSTATUS(status) == 1) {
		if (c->tests.failed >= 0)
			end_box(rt, FP_V_FAILED, "test: %s", counts);
		else
			end_box(rt, FP_V_FAILED, "test: exited with status 1");
	} else {
		test_error_reason(rt, WEXITSTATUS(status));
	}
}

/* ---- box events -------------------------------------------------------- */

static void handle_event(struct fp_cand_rt *rt, const struct sbx_event *ev)
{
	struct fp_cand *c = rt->c;
	bool app = ev->proc_id == rt->app_proc;

	switch (ev->type) {
	case SBX_EV_SPAWN_FAILED:
		end_box(rt, FP_V_ERROR, "%s: cannot run the %s command: %s",
		        app ? "start" : "test", app ? "start" : "test",
		        ev->msg[0] ? ev->msg : strerror(ev->errnum));
		break;
	case SBX_EV_EXITED:
		if (app) {
			rec_status(&c->ph[FP_PH_START], ev->status);
			if (c->phase == FP_PH_START)
				app_died(rt, ev->status);
		} else if (ev->proc_id == rt->test_proc) {
			test_done(rt, ev->status);
		}
		break;
	case SBX_EV_NONE:
	case SBX_EV_SPAWNED:
		break;
	}
}

static void on_box_event(void *arg, int fd, uint32_t events)
{
	struct fp_cand_rt *rt = arg;
	struct sbx_event ev;

	(void)fd;
	(void)events;
	for (int i = 0; i < DRAIN_READS_MAX && rt->box; i++) {
		int r = sbx_box_read_event(rt->box, &ev);
		if (r == 0)
			return;
		if (r < 0) {
			/* init is gone; an OOM kill becomes the reason in
			 * teardown */
			rt->sig_death = true;
			end_box(rt, FP_V_ERROR, "sandbox: the box's init exited "
			        "unexpectedly");
			return;
		}
		handle_event(rt, &ev);
	}
}

static void box_begin(struct fp_pipe *p, struct fp_cand *c)
{
	const struct fp_policy *pol = p->o.policy;
	struct fp_cand_rt *rt = c->rt;
	struct sbx_error e;
	char files[4096];

	memset(&e, 0, sizeof e);
	rt->has_slot = true;
	p->running++;
	snprintf(files, sizeof files, "%s/files", c->dir);
	if (sbx_spec_workspace(pol->spec, files, pol->workspace_path,
	                       pol->workspace_mode, &e) < 0 ||
	    (rt->box = sbx_box_create(pol->spec, &e)) == NULL) {
		/* Every other box would fail the same way: stop the run. */
		if ((e.host || e.config) && !p->host_err) {
			p->host_err = fp_strdup(e.msg);
			p->host_err_config = e.config;
			p->stopping = true;
		}
		c->ph[FP_PH_START].ran = true;
		c->ph[FP_PH_START].started_ms = rel_ms(p);
		c->phase = FP_PH_START;
		end_box(rt, FP_V_ERROR, "sandbox: %s", e.msg);
		if (p->host_err)
			fp_pipe_cancel_all(p, "the sandbox cannot be "
			                   "set up on this host");
		return;
	}
	fp_loop_watch(p->loop, sbx_box_fd(rt->box), EPOLLIN, on_box_event, rt);
	/* 0 = no limit of this kind */
	if (pol->wall_ms)
		rt->wall_t = fp_loop_timer(p->loop, pol->wall_ms, on_wall, rt);
	if (pol->cpu_ms)
		rt->cpu_t = fp_loop_timer(p->loop, POLL_CPU_MS, on_cpu, rt);
	start_begin(rt);
}

/* ---- the scheduler ----------------------------------------------------- */

struct fp_pipe *fp_pipe_new(struct fp_loop *loop,
                            const struct fp_pipe_opts *opts,
                            fp_pipe_cb *cb, void *arg)
{
	struct fp_pipe *p = fp_xcalloc(1, sizeof *p);

	p->loop = loop;
	p->o = *opts;
	if (p->o.jobs < 1)
		p->o.jobs = 1;
	if (!p->o.port)
		p->o.port = 8000;
	p->cb = cb;
	p->cb_arg = arg;
	p->winner = -1;
	return p;
}

static struct fp_cand *cand_new(struct fp_pipe *p, const char *id, int round,
                                int index)
{
	struct fp_cand *c = fp_xcalloc(1, sizeof *c);
	struct fp_cand_rt *rt = fp_xcalloc(1, sizeof *rt);
	struct fp_err err;
	char dir[4096];

	c->id = fp_strdup(id);
	c->round = round;
	c->index = index;
	c->dup_of = -1;
	c->phase = FP_PH_VALIDATE;
	c->ph[FP_PH_VALIDATE].ran = true;
	c->added_ms = rel_ms(p);
	c->ph[FP_PH_VALIDATE].started_ms = c->added_ms;
	c->tests.passed = c->tests.failed = c->tests.errors =
		c->tests.skipped = -1;
	snprintf(dir, sizeof dir, "%s/candidates/%s", p->o.out_dir, id);
	c->dir = fp_strdup(dir);
	fp_mkdirs(dir, &err);
	rt->pipe = p;
	rt->c = c;
	rt->app_proc = rt->test_proc = -1;
	rt->probe_fd = -1;
	sink_init(&rt->app, rt, p->o.policy->output_bytes);
	sink_init(&rt->test, rt, p->o.policy->output_bytes);
	fp_buf_init(&rt->probe_buf, PROBE_CAP);
	c->rt = rt;
	if (p->n == p->alloc) {
		p->alloc = p->alloc ? p->alloc * 2 : 16;
		p->cands = fp_xrealloc(p->cands,
		                       p->alloc * sizeof(struct fp_cand *));
	}
	p->cands[p->n++] = c;
	return c;
}

static const struct fp_cand *winner_of(const struct fp_pipe *p)
{
	return p->winner >= 0 ? p->cands[p->winner] : NULL;
}

/* Copies an earlier verdict to the duplicates that waited for it. */
static void settle_duplicates(struct fp_pipe *p, const struct fp_cand *orig,
                              int orig_idx)
{
	for (size_t i = 0; i < p->n; i++) {
		struct fp_cand *d = p->cands[i];
		if (d->dup_of != orig_idx || d->verdict != FP_V_NONE)
			continue;
		set_verdict(d, orig->verdict, "duplicate of %s (%s)", orig->id,
		            orig->reason);
		d->tests = orig->tests;
		conclude(p, d);
	}
}

static int index_of(const struct fp_pipe *p, const struct fp_cand *c)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->cands[i] == c)
			return (int)i;
	return -1;
}

/* Everything that follows a verdict: files, callback, scheduling. */
static void conclude(struct fp_pipe *p, struct fp_cand *c)
{
	uint64_t now = rel_ms(p), t0;
	struct fp_err err;
	char reason[600];
	size_t len;
	char *log;

	if (c->phase < FP_PH_COUNT && c->ph[c->phase].ran)
		c->ph[c->phase].wall_ms = now - c->ph[c->phase].started_ms;
	c->phase = FP_PH_DONE;
	c->done_ms = now;
	if (!c->missing_module) {
		log = read_log(c, "app.log", 64u << 10, &len);
		c->missing_module = find_missing_module(log);
		free(log);
	}
	if (!c->missing_module) {
		log = read_log(c, "test.log", 64u << 10, &len);
		c->missing_module = find_missing_module(log);
		free(log);
	}
	if (c->verdict != FP_V_PASSED && c->verdict != FP_V_CANCELLED &&
	    c->dup_of < 0)
		c->feedback = build_feedback(p, c);
	if (c->feedback) {
		char path[4096];
		snprintf(path, sizeof path, "%s/feedback.txt", c->dir);
		fp_write_file_atomic(path, c->feedback, strlen(c->feedback),
		                     &err);
	}
	if (fp_results_write_meta(c, &err) < 0)
		fprintf(stderr, "firstpass: %s\n", err.msg);
	if (p->cb)
		p->cb(p->cb_arg, c);
	settle_duplicates(p, c, index_of(p, c));
	if (c->verdict == FP_V_PASSED && p->winner < 0 && c->dup_of < 0) {
		p->winner = index_of(p, c);
		if (p->o.first_pass) {
			t0 = fp_now_ms();
			snprintf(reason, sizeof reason, "%s passed first",
			         c->id);
			fp_pipe_cancel_all(p, reason);
			p->cancel_latency_ms = fp_now_ms() - t0;
		}
	}
	pump(p);
}

static void pump(struct fp_pipe *p)
{
	for (size_t i = 0; i < p->n && !p->stopping; i++) {
		struct fp_cand *c = p->cands[i];
		if (p->running >= p->o.jobs)
			return;
		if (c->phase == FP_PH_QUEUED && c->dup_of < 0 &&
		    c->verdict == FP_V_NONE)
			box_begin(p, c);
	}
}

/* After validation: dedupe, materialize, queue. */
static struct fp_cand *admit(struct fp_pipe *p, struct fp_cand *c)
{
	struct fp_err err;
	char files[4096];

	err.msg[0] = '\0';
	errno = 0;
	fp_filemap_sha256(&c->files, c->sha256);
	c->ph[FP_PH_VALIDATE].wall_ms = rel_ms(p) - c->added_ms;
	snprintf(files, sizeof files, "%s/files", c->dir);
	fp_remove_tree(files);
	if (mkdir(files, 0755) < 0 || fp_filemap_write(&c->files, files,
	                                               &err) < 0) {
		if (errno && !err.msg[0])
			snprintf(err.msg, sizeof err.msg, "%s", strerror(errno));
		set_verdict(c, FP_V_ERROR, "materialize: %s", err.msg);
		conclude(p, c);
		return c;
	}
	c->phase = FP_PH_QUEUED;
	if (p->stopping) {
		if (p->winner >= 0)
			set_verdict(c, FP_V_CANCELLED, "%s passed "
			            "first", winner_of(p)->id);
		else
			set_verdict(c, FP_V_CANCELLED, "the sandbox "
			            "cannot be set up on this host");
		conclude(p, c);
		return c;
	}
	for (size_t i = 0; i + 1 < p->n; i++) {
		const struct fp_cand *o = p->cands[i];
		if (o->dup_of >= 0 || !o->sha256[0] ||
		    strcmp(o->sha256, c->sha256) != 0)
			continue;
		c->dup_of = (int)i;
		if (o->verdict != FP_V_NONE) {
			set_verdict(c, o->verdict, "duplicate of %s (%s)", o->id,
			            o->reason);
			c->tests = o->tests;
			conclude(p, c);
			return c;
		}
		break;
	}
	if (p->cb)
		p->cb(p->cb_arg, c);
	pump(p);
	return c;
}

struct fp_cand *fp_pipe_add_text(struct fp_pipe *p, const char *id, int round,
                                 int index, const char *text, size_t len)
{
	struct fp_cand *c = cand_new(p, id, round, index);
	struct fp_err err;
	char path[4096];

	err.msg[0] = '\0';
	if (fp_cand_from_text(text, len, &p->o.policy->cand, &c->files,
	                      &err) < 0) {
		/* Keep the raw reply (capped) so a user can see what failed. */
		snprintf(path, sizeof path, "%s/reply.txt", c->dir);
		fp_write_file_atomic(path, text, len > (1u << 20) ? 1u << 20 : len,
		                     &err);
		c->ph[FP_PH_VALIDATE].wall_ms = rel_ms(p) - c->added_ms;
		set_verdict(c, FP_V_INVALID, "validate: %s", err.msg);
		conclude(p, c);
		return c;
	}
	return admit(p, c);
}

struct fp_cand *fp_pipe_add_map(struct fp_pipe *p, const char *id, int round,
                                int index, struct fp_filemap *map)
{
	struct fp_cand *c = cand_new(p, id, round, index);

	c->files = *map;
	map->files = NULL;
	map->n = 0;
	return admit(p, c);
}

struct fp_cand *fp_pipe_add_verdict(struct fp_pipe *p, const char *id,
                                    int round, int index, enum fp_verdict v,
                                    const char *reason)
{
	struct fp_cand *c = cand_new(p, id, round, index);

	set_verdict(c, v, "%s", reason);
	conclude(p, c);
	return c;
}

void fp_pipe_cancel_all(struct fp_pipe *p, const char *reason)
{
	p->stopping = true;
	for (size_t i = 0; i < p->n; i++) {
		struct fp_cand *c = p->cands[i];
		if (c->verdict != FP_V_NONE)
			continue;
		if (c->rt && c->rt->box) {
			end_box(c->rt, FP_V_CANCELLED, "%s", reason);
		} else {
			set_verdict(c, FP_V_CANCELLED, "%s", reason);
			conclude(p, c);
		}
	}
}

size_t fp_pipe_count(const struct fp_pipe *p)
{
	return p->n;
}

const struct fp_cand *fp_pipe_get(const struct fp_pipe *p, size_t i)
{
	return i < p->n ? p->cands[i] : NULL;
}

size_t fp_pipe_pending(const struct fp_pipe *p)
{
	size_t k = 0;

	for (size_t i = 0; i < p->n; i++)
		k += p->cands[i]->verdict == FP_V_NONE;
	return k;
}

const struct fp_cand *fp_pipe_winner(const struct fp_pipe *p)
{
	return winner_of(p);
}

uint64_t fp_pipe_cancel_latency_ms(const struct fp_pipe *p)
{
	return p->cancel_latency_ms;
}

bool fp_pipe_setup_error_is_config(const struct fp_pipe *p)
{
	return p->host_err && p->host_err_config;
}

const char *fp_pipe_host_error(const struct fp_pipe *p)
{
	return p->host_err;
}

void fp_pipe_free(struct fp_pipe *p)
{
	if (!p)
		return;
	p->stopping = true;
	for (size_t i = 0; i < p->n; i++) {
		struct fp_cand *c = p->cands[i];
		struct fp_cand_rt *rt = c->rt;
		if (rt && rt->box) {
			/* no verdict callbacks while freeing */
			p->cb = NULL;
			set_verdict(c, FP_V_CANCELLED, "shutting down");
			teardown(rt);
		}
		if (rt) {
			fp_buf_free(&rt->probe_buf);
			free(rt);
		}
		fp_filemap_free(&c->files);
		free(c->id);
		free(c->dir);
		free(c->missing_module);
		free(c->feedback);
		free(c);
	}
	free(p->cands);
	free(p->host_err);
	free(p);
}
