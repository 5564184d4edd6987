/* gen_replay.c - "replay:DIR": saved candidates instead of a model.
 *
 * Two layouts. If DIR has subdirectories named round-1, round-2, ... then
 * request (round r, index i) takes the i-th entry of round-r. Otherwise DIR
 * is one flat list and the k-th request of the run (counting every request
 * across rounds, in call order) takes the k-th entry. Entries are sorted by
 * name (byte order); an entry is a .json or .txt file, returned as-is like
 * raw model output, or a candidate directory, returned as its JSON file
 * map. Hidden names and other files are ignored, so a README may sit there.
 *
 * Results are delivered through fp_gen_finish, i.e. from a 0 ms timer,
 * never inside fp_gen_request: callers see the same ordering as with a
 * real model.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "candidate.h"
#include "gen_internal.h"

struct replay_list {
	char **paths; /* owned, full paths, sorted */
	size_t n;
};

struct replay {
	struct fp_gen *g;
	char *dir;                   /* owned */
	bool rounds;                 /* round-N layout */
	struct replay_list flat;     /* flat layout */
	struct replay_list *round;   /* round[r-1], rounds layout */
	size_t nrounds;
	size_t next;                 /* flat: next entry */
	size_t max_reply_bytes;
};

static void list_free(struct replay_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	l->paths = NULL;
	l->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Parses "round-N" (N >= 1, digits only); returns N or 0. */
static size_t round_number(const char *name)
{
	size_t n = 0;
	const char *p;

	if (strncmp(name, "round-", 6) != 0 || !name[6])
		return 0;
	for (p = name + 6; *p; p++) {
		if (*p < '0' || *p > '9' || n > 100000)
			return 0;
		n = n * 10 + (size_t)(*p - '0');
	}
	return n;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Lists the candidate entries of |dir|, sorted. */
static int list_entries(const char *dir, struct replay_list *l,
                        struct fp_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t alloc = 0;

	if (!d)
		return fp_errf(err, "cannot open '%s': %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		char *path;
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		n = strlen(dir) + strlen(e->d_name) + 2;
		path = fp_xmalloc(n);
		snprintf(path, n, "%s/%s", dir, e->d_name);
		if (!is_dir(path) && !has_suffix(e->d_name, ".json") &&
		    !has_suffix(e->d_name, ".txt")) {
			free(path);
			continue;
		}
		if (l->n == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			l->paths = fp_xrealloc(l->paths, alloc * sizeof(*l->paths));
		}
		l->paths[l->n++] = path;
	}
	closedir(d);
	if (l->n)
		qsort(l->paths, l->n, sizeof(*l->paths), cmp_str);
	return 0;
}

/* Finds round-N subdirectories; fills rp->round when there are any. */
static int scan_rounds(struct replay *rp, struct fp_err *err)
{
	size_t i, n;
	char path[4096];

	for (i = 0; i < rp->flat.n; i++) {
		const char *name = strrchr(rp->flat.paths[i], '/') + 1;

		n = round_number(name);
		if (n && is_dir(rp->flat.paths[i]) && n > rp->nrounds)
			rp->nrounds = n;
	}
	if (rp->nrounds == 0)
		return 0;
	rp->rounds = true;
	rp->round = fp_xcalloc(rp->nrounds, sizeof(*rp->round));
	for (i = 0; i < rp->nrounds; i++) {
		snprintf(path, sizeof(path), "%s/round-%zu", rp->dir, i + 1);
		if (is_dir(path) && list_entries(path, &rp->round[i], err) < 0)
			return -1;
	}
	return 0;
}

/* Loads one entry as model output text (caller frees). */
static char *load_entry(const struct replay *rp, const char *path,
                        struct fp_err *err)
{
	struct fp_cand_limits lim;
	struct fp_filemap m = { 0 };
	char *text = NULL;
	size_t len;

	if (!is_dir(path)) {
		if (fp_read_file(path, rp->max_reply_bytes, &text, &len, err) < 0)
			return NULL;
		return text;
	}
	fp_cand_limits_default(&lim);
	if (fp_cand_load_dir(path, &lim, &m, err) < 0)
		return NULL;
	text = fp_filemap_to_json(&m);
	fp_filemap_free(&m);
	if (!text)
		fp_errf(err, "cannot serialise candidate '%s'", path);
	return text;
}

static const char *pick(struct replay *rp, int round, int index,
                        struct fp_err *err)
{
	const struct replay_list *l;

	if (!rp->rounds) {
		if (rp->next >= rp->flat.n) {
			fp_errf(err, "replay: no more saved candidates in %s",
			        rp->dir);
			return NULL;
		}
		return rp->flat.paths[rp->next++];
	}
	if ((size_t)round > rp->nrounds || rp->round[round - 1].n == 0) {
		fp_errf(err, "replay: no saved candidates for round %d in %s "
		        "(no round-%d)", round, rp->dir, round);
		return NULL;
	}
	l = &rp->round[round - 1];
	if ((size_t)index >= l->n) {
		fp_errf(err, "replay: round-%d has only %zu candidates", round,
		        l->n);
		return NULL;
	}
	return l->paths[index];
}

static int replay_request(void *impl, int round, int index,
                          const char *prompt, fp_gen_done_cb *cb, void *arg,
                          struct fp_err *err)
{
	struct replay *rp = impl;
	struct fp_err e = { "" };
	const char *path = pick(rp, round, index, &e);
	char *text = path ? load_entry(rp, path, &e) : NULL;

	(void)prompt;
	(void)err;
	/* A missing or broken entry fails this candidate, not the run. */
	fp_gen_finish(rp->g, cb, arg, index, text, text ? NULL : e.msg);
	return 0;
}

static void replay_cancel_all(void *impl)
{
	(void)impl; /* nothing in flight: completions are queued in gen.c */
}

static void replay_close(void *impl)
{
	struct replay *rp = impl;
	size_t i;

	if (!rp)
		return;
	list_free(&rp->flat);
	for (i = 0; i < rp->nrounds; i++)
		list_free(&rp->round[i]);
	free(rp->round);
	free(rp->dir);
	free(rp);
}

static void *replay_open(struct fp_gen *g, const char *arg,
                         const struct fp_gen_opts *o, struct fp_loop *loop,
                         char **describe, struct fp_err *err)
{
	struct replay *rp;
	size_t n, total = 0, i;

	(void)loop;
	if (!arg || !*arg) {
		fp_errf(err, "generator 'replay:' needs a directory, e.g. "
		        "replay:examples/notes-api/candidates");
		return NULL;
	}
	if (!is_dir(arg)) {
		fp_errf(err, "replay: '%s' is not a directory", arg);
		return NULL;
	}
	rp = fp_xcalloc(1, sizeof(*rp));
	rp->g = g;
	rp->max_reply_bytes = o->max_reply_bytes;
	rp->dir = fp_strdup(arg);
	n = strlen(rp->dir);
	while (n > 1 && rp->dir[n - 1] == '/')
		rp->dir[--n] = '\0';
	if (list_entries(rp->dir, &rp->flat, err) < 0 ||
	    scan_rounds(rp, err) < 0) {
		replay_close(rp);
		return NULL;
	}
	for (i = 0; i < rp->nrounds; i++)
		total += rp->round[i].n;
	n = strlen(rp->dir) + 64;
	*describe = fp_xmalloc(n);
	if (rp->rounds)
		snprintf(*describe, n, "replay %s (%zu rounds, %zu candidates)",
		         rp->dir, rp->nrounds, total);
	else
		snprintf(*describe, n, "replay %s (%zu candidates)", rp->dir,
		         rp->flat.n);
	return rp;
}

const struct fp_gen_backend fp_gen_replay = {
	"replay", replay_open, replay_request, replay_cancel_all, replay_close,
};
