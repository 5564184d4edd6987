/* results.c - results.json, events.jsonl, meta.json and the winner copy. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "results.h"

#define COPY_DEPTH_MAX 64

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
	cJSON_AddNumberToObject(o, k, (double)v);
}

static void add_count(cJSON *o, const char *k, long v)
{
	if (v < 0)
		cJSON_AddNullToObject(o, k);
	else
		cJSON_AddNumberToObject(o, k, (double)v);
}

static cJSON *phase_json(const struct fp_phase_rec *r)
{
	cJSON *o = cJSON_CreateObject();

	if (!r->ran) {
		cJSON_AddNullToObject(o, "started_ms");
		cJSON_AddNullToObject(o, "wall_ms");
	} else {
		add_u64(o, "started_ms", r->started_ms);
		add_u64(o, "wall_ms", r->wall_ms);
	}
	if (r->has_status) {
		cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
		cJSON_AddNumberToObject(o, "signal", r->signal);
	} else {
		cJSON_AddNullToObject(o, "exit_code");
		cJSON_AddNullToObject(o, "signal");
	}
	return o;
}

cJSON *fp_results_meta_json(const struct fp_cand *c)
{
	cJSON *o = cJSON_CreateObject(), *ph, *t, *r;

	cJSON_AddStringToObject(o, "id", c->id);
	cJSON_AddNumberToObject(o, "round", c->round);
	if (c->sha256[0])
		cJSON_AddStringToObject(o, "sha256", c->sha256);
	else
		cJSON_AddNullToObject(o, "sha256");
	cJSON_AddStringToObject(o, "verdict", fp_verdict_name(c->verdict));
	cJSON_AddStringToObject(o, "reason", c->reason);
	if (c->dup_of >= 0)
		cJSON_AddTrueToObject(o, "duplicate");
	add_u64(o, "added_ms", c->added_ms);
	add_u64(o, "done_ms", c->done_ms);
	ph = cJSON_AddObjectToObject(o, "phases");
	for (int i = 0; i < FP_PH_COUNT; i++)
		cJSON_AddItemToObject(ph, fp_phase_name((enum fp_phase)i),
		                      phase_json(&c->ph[i]));
	t = cJSON_AddObjectToObject(o, "tests");
	add_count(t, "passed", c->tests.passed);
	add_count(t, "failed", c->tests.failed);
	add_count(t, "errors", c->tests.errors);
	add_count(t, "skipped", c->tests.skipped);
	r = cJSON_AddObjectToObject(o, "resources");
	add_u64(r, "cpu_ms", c->res.cpu_ms);
	add_u64(r, "max_rss_kb", c->res.max_rss_kb);
	cJSON_AddBoolToObject(r, "oom_killed", c->res.oom_killed);
	cJSON_AddBoolToObject(r, "wall_limit_hit", c->res.wall_limit_hit);
	cJSON_AddBoolToObject(r, "cpu_limit_hit", c->res.cpu_limit_hit);
	cJSON_AddBoolToObject(r, "pids_limit_hit", c->res.pids_limit_hit);
	cJSON_AddBoolToObject(r, "output_truncated", c->res.output_truncated);
	if (c->missing_module)
		cJSON_AddStringToObject(o, "missing_module", c->missing_module);
	return o;
}

static int write_json(const char *path, cJSON *o, struct fp_err *err)
{
	char *text = cJSON_Print(o);
	int r;

	if (!text)
		return fp_errf(err, "cannot serialise '%s'", path);
	r = fp_write_file_atomic(path, text, strlen(text), err);
	free(text);
	return r;
}

int fp_results_write_meta(const struct fp_cand *c, struct fp_err *err)
{
	char path[PATH_MAX];
	cJSON *o = fp_results_meta_json(c);
	int r;

	snprintf(path, sizeof path, "%s/meta.json", c->dir);
	r = write_json(path, o, err);
	cJSON_Delete(o);
	return r;
}

/* ---- events ------------------------------------------------------------ */

struct fp_events {
	FILE *f;         /* owned */
	bool to_stdout;
	uint64_t t0_ms;
};

struct fp_events *fp_events_open(const char *path, bool to_stdout,
                                 uint64_t t0_ms, struct fp_err *err)
{
	struct fp_events *ev;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	              O_NOFOLLOW, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		fp_errf(err, "cannot open '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	ev = fp_xcalloc(1, sizeof *ev);
	ev->f = f;
	ev->to_stdout = to_stdout;
	ev->t0_ms = t0_ms;
	return ev;
}

void fp_events_emit(struct fp_events *ev, const char *event, cJSON *fields)
{
	cJSON *o = cJSON_CreateObject(), *it;
	char *line;

	add_u64(o, "t_ms", fp_now_ms() - (ev ? ev->t0_ms : 0));
	cJSON_AddStringToObject(o, "event", event);
	if (fields) {
		while ((it = fields->child) != NULL) {
			cJSON_DetachItemViaPointer(fields, it);
			cJSON_AddItemToObject(o, it->string, it);
		}
		cJSON_Delete(fields);
	}
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!line || !ev) {
		free(line);
		return;
	}
	fprintf(ev->f, "%s\n", line);
	fflush(ev->f);
	if (ev->to_stdout) {
		printf("%s\n", line);
		fflush(stdout);
	}
	free(line);
}

void fp_events_close(struct fp_events *ev)
{
	if (!ev)
		return;
	fclose(ev->f);
	free(ev);
}

/* ---- results.json -------------------------------------------------------- */

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *rounds_json(const struct fp_results_info *info,
                          const struct fp_pipe *p)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < info->nrounds; i++) {
		const struct fp_round_info *r = &info->rounds[i];
		cJSON *o = cJSON_CreateObject(), *ids;
		cJSON_AddNumberToObject(o, "round", r->round);
		add_u64(o, "started_ms", r->started_ms);
		add_u64(o, "wall_ms", r->wall_ms);
		cJSON_AddNumberToObject(o, "requested", r->requested);
		add_u64(o, "prompt_bytes", r->prompt_bytes);
		ids = cJSON_AddArrayToObject(o, "candidates");
		for (size_t k = 0; k < fp_pipe_count(p); k++) {
			const struct fp_cand *c = fp_pipe_get(p, k);
			if (c->round == r->round)
				cJSON_AddItemToArray(ids,
				                     cJSON_CreateString(c->id));
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int fp_results_write(const char *out_dir, const struct fp_results_info *info,
                     const struct fp_pipe *p, struct fp_err *err)
{
	const struct fp_cand *w = fp_pipe_winner(p);
	cJSON *o = cJSON_CreateObject(), *cands, *counts;
	char path[PATH_MAX], stamp[64];
	time_t secs = (time_t)(info->started_epoch_ms / 1000);
	struct tm tm;
	int r;

	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddNumberToObject(o, "version", FP_RESULTS_VERSION);
	cJSON_AddStringToObject(o, "command", info->command);
	if (info->interrupted)
		cJSON_AddStringToObject(o, "interrupted", info->interrupted);
	else
		cJSON_AddNullToObject(o, "interrupted");
	add_str_or_null(o, "goal", info->goal);
	add_str_or_null(o, "generator", info->generator);
	add_str_or_null(o, "policy", info->policy);
	cJSON_AddStringToObject(o, "started", stamp);
	add_u64(o, "wall_ms", info->wall_ms);
	add_str_or_null(o, "winner", w ? w->id : NULL);
	if (w) {
		add_u64(o, "time_to_first_pass_ms", w->done_ms);
		add_u64(o, "cancel_latency_ms", fp_pipe_cancel_latency_ms(p));
	} else {
		cJSON_AddNullToObject(o, "time_to_first_pass_ms");
		cJSON_AddNullToObject(o, "cancel_latency_ms");
	}
	counts = cJSON_AddObjectToObject(o, "verdicts");
	for (int v = FP_V_PASSED; v < FP_V_COUNT; v++) {
		int k = 0;
		for (size_t i = 0; i < fp_pipe_count(p); i++)
			k += fp_pipe_get(p, i)->verdict == (enum fp_verdict)v;
		cJSON_AddNumberToObject(counts,
		                        fp_verdict_name((enum fp_verdict)v), k);
	}
	cJSON_AddItemToObject(o, "rounds", rounds_json(info, p));
	cands = cJSON_AddArrayToObject(o, "candidates");
	for (size_t i = 0; i < fp_pipe_count(p); i++)
		cJSON_AddItemToArray(cands,
		                     fp_results_meta_json(fp_pipe_get(p, i)));
	snprintf(path, sizeof path, "%s/results.json", out_dir);
	r = write_json(path, o, err);
	cJSON_Delete(o);
	return r;
}

/* ---- the winner copy ------------------------------------------------------ */

static int copy_file_at(int sfd, int dfd, const char *name,
                        struct fp_err *err)
{
	char buf[65536];
	int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int out = -1, r = -1;
	ssize_t n;

	if (in < 0)
		return fp_errf(err, "cannot open '%s': %s", name,
		               strerror(errno));
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	             O_CLOEXEC, 0644);
	if (out < 0) {
		fp_errf(err, "cannot create '%s': %s", name, strerror(errno));
		goto done;
	}
	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(out, buf, (size_t)n) != n) {
			fp_errf(err, "cannot copy '%s': %s", name,
			        strerror(errno));
			goto done;
		}
	}
	r = 0;
done:
	close(in);
	if (out >= 0)
		close(out);
	return r;
}

static int copy_dir_at(int sfd, int dfd, int depth, struct fp_err *err);

static int copy_entry(int sfd, int dfd, const char *name, int depth,
                      struct fp_err *err)
{
	struct stat st;
	char target[PATH_MAX];
	ssize_t n;
	int s2, d2, r;

	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fp_errf(err, "cannot stat '%s': %s", name,
		               strerror(errno));
	if (S_ISREG(st.st_mode))
		return copy_file_at(sfd, dfd, name, err);
	if (S_ISLNK(st.st_mode)) {
		n = readlinkat(sfd, name, target, sizeof target - 1);
		if (n < 0)
			return fp_errf(err, "cannot read link '%s': %s", name,
			               strerror(errno));
		target[n] = '\0';
		if (symlinkat(target, dfd, name) < 0)
			return fp_errf(err, "cannot create link '%s': %s", name,
			               strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0; /* devices, fifos, sockets: never copied */
	if (mkdirat(dfd, name, 0755) < 0)
		return fp_errf(err, "cannot create '%s': %s", name,
		               strerror(errno));
	s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d2 = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r = s2 < 0 || d2 < 0 ? fp_errf(err, "cannot open '%s': %s", name,
	                               strerror(errno))
	                     : copy_dir_at(s2, d2, depth + 1, err);
	if (s2 >= 0)
		close(s2);
	if (d2 >= 0)
		close(d2);
	return r;
}

static int copy_dir_at(int sfd, int dfd, int depth, struct fp_err *err)
{
	int fd = dup(sfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	int r = 0;

	if (depth > COPY_DEPTH_MAX)
		r = fp_errf(err, "directory tree deeper than %d", COPY_DEPTH_MAX);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return r ? r : fp_errf(err, "cannot read directory: %s",
		                       strerror(errno));
	}
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		r = copy_entry(sfd, dfd, e->d_name, depth, err);
	}
	closedir(d);
	return r;
}

int fp_copy_tree(const char *src, const char *dst, struct fp_err *err)
{
	int sfd, dfd, r;

	sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return fp_errf(err, "cannot open '%s': %s", src, strerror(errno));
	if (mkdir(dst, 0755) < 0) {
		close(sfd);
		return fp_errf(err, "cannot create '%s': %s", dst,
		               strerror(errno));
	}
	dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		close(sfd);
		return fp_errf(err, "cannot open '%s': %s", dst, strerror(errno));
	}
	r = copy_dir_at(sfd, dfd, 0, err);
	close(sfd);
	close(dfd);
	return r;
}
