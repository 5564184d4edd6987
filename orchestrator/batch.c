/* batch.c - `firstpass batch` and `firstpass merge`.
 *
 * Theory of operation. The batch process never runs a candidate itself:
 * each task is a child process `/proc/self/exe run|eval ... --out
 * DIR/tasks/<id>`, so the batch's memory and fds stay flat however many
 * tasks there are, and a crash of one task cannot corrupt another. Before
 * exec the child sets PR_SET_PDEATHSIG(SIGKILL) and checks that its parent
 * is still the batch (closing the race where the batch died before the
 * prctl); the task's sandboxes have PDEATHSIG of their own, so a kill -9 of
 * the batch takes the whole tree down.
 *
 * The batch waits for children with SIGCHLD blocked and sigtimedwait (a
 * one-second tick redraws the progress line). A task is finished when its
 * child left a results.json: then one complete line goes to batch.jsonl in
 * one write() and is fsync'ed. That file is the only resume state: a
 * restart cuts a torn last line, skips tasks recorded there (same id and
 * same line hash) and redoes every other task from an empty directory.
 * An flock on batch.jsonl keeps two batches out of one directory.
 *
 * --slurm N writes a job array whose elements are `firstpass batch --shard
 * K/N` into DIR/shard-K, submits it, polls squeue until the array is gone
 * and merges the shards into DIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"
#include "report.h"
#include "sha256.h"

#define TASKS_FILE_MAX (64u << 20)
#define JSONL_MAX (256u << 20)
#define RESULTS_MAX (64u << 20)
#define GOAL_ARG_MAX 100000   /* below the kernel's 128 KiB per argument */
#define SLURM_POLL_MS 2000
#define CAPTURE_MAX (64u << 10)

/* ---- task lines ------------------------------------------------------- */

enum tfield_type { TF_STR, TF_INT, TF_BOOL, TF_PROBE, TF_STRS };
enum tfield_kind { TK_ANY, TK_RUN, TK_EVAL };

static const struct tfield {
	const char *name;
	enum tfield_type type;
	enum tfield_kind kind;
	int max; /* TF_INT: upper bound */
} tfields[] = {
	{ "id", TF_STR, TK_ANY, 0 },
	{ "goal", TF_STR, TK_RUN, 0 },
	{ "goal_file", TF_STR, TK_RUN, 0 },
	{ "generator", TF_STR, TK_RUN, 0 },
	{ "model", TF_STR, TK_RUN, 0 },
	{ "candidates", TF_INT, TK_RUN, 1000 },
	{ "rounds", TF_INT, TK_RUN, 100 },
	{ "repair", TF_BOOL, TK_RUN, 0 },
	{ "compare", TF_STRS, TK_EVAL, 0 },
	{ "first_pass", TF_BOOL, TK_EVAL, 0 },
	{ "policy", TF_STR, TK_ANY, 0 },
	{ "start_cmd", TF_STR, TK_ANY, 0 },
	{ "test_cmd", TF_STR, TK_ANY, 0 },
	{ "port", TF_INT, TK_ANY, 65535 },
	{ "probe", TF_PROBE, TK_ANY, 0 },
	{ "jobs", TF_INT, TK_ANY, 4096 },
};

static const struct tfield *tfield_find(const char *name)
{
	for (size_t i = 0; i < sizeof tfields / sizeof tfields[0]; i++)
		if (!strcmp(tfields[i].name, name))
			return &tfields[i];
	return NULL;
}

static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > FP_TASK_ID_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int check_type(const cJSON *v, const struct tfield *f,
                      struct fp_err *err)
{
	switch (f->type) {
	case TF_STR:
		if (!cJSON_IsString(v) || !v->valuestring[0])
			return fp_errf(err, "field '%s': expected a non-empty string", f->name);
		return 0;
	case TF_INT:
		if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
		    v->valueint < 1 || v->valueint > f->max)
			return fp_errf(err, "field '%s': expected an integer from 1 to %d",
			               f->name, f->max);
		return 0;
	case TF_BOOL:
		if (!cJSON_IsBool(v))
			return fp_errf(err, "field '%s': expected true or false", f->name);
		return 0;
	case TF_PROBE:
		if (cJSON_IsBool(v) || (cJSON_IsString(v) && v->valuestring[0]))
			return 0;
		return fp_errf(err, "field 'probe': expected 'METHOD /PATH' or false");
	case TF_STRS: {
		const cJSON *e;
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1)
			return fp_errf(err, "field '%s': expected a non-empty array of paths", f->name);
		cJSON_ArrayForEach(e, v)
			if (!cJSON_IsString(e) || !e->valuestring[0])
				return fp_errf(err, "field '%s': expected a non-empty array of paths", f->name);
		return 0;
	}
	}
	return fp_errf(err, "field '%s': unknown type", f->name);
}

/* Every field known, typed, unique, and meant for this kind of task. */
static int check_fields(const cJSON *o, bool eval, struct fp_err *err)
{
	const cJSON *v, *w;
	cJSON_ArrayForEach(v, o) {
		const struct tfield *f = tfield_find(v->string);
		if (!f)
			return fp_errf(err, "unknown field '%.64s'", v->string);
		for (w = o->child; w != v; w = w->next)
			if (!strcmp(w->string, v->string))
				return fp_errf(err, "duplicate field '%s'", f->name);
		if (check_type(v, f, err) < 0)
			return -1;
		if ((f->kind == TK_RUN && eval) || (f->kind == TK_EVAL && !eval))
			return fp_errf(err, "field '%s' does not apply to a '%s' task",
			               f->name, eval ? "compare" : "goal");
	}
	return 0;
}

static int check_task(const cJSON *o, bool eval, struct fp_err *err)
{
	if (check_fields(o, eval, err) < 0)
		return -1;
	if (eval)
		return 0;
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "goal");
	const cJSON *gf = cJSON_GetObjectItemCaseSensitive(o, "goal_file");
	if (!g && !gf)
		return fp_errf(err, "missing 'goal', 'goal_file' or 'compare'");
	if (g && gf)
		return fp_errf(err, "'goal' and 'goal_file' exclude each other");
	if (g && strlen(g->valuestring) > GOAL_ARG_MAX)
		return fp_errf(err, "field 'goal': longer than %d bytes (use 'goal_file')",
		               GOAL_ARG_MAX);
	return 0;
}

int fp_task_parse(const char *line, size_t len, int lineno,
                  struct fp_task *t, struct fp_err *err)
{
	memset(t, 0, sizeof *t);
	if (len > FP_TASK_LINE_MAX)
		return fp_errf(err, "line longer than %u bytes", FP_TASK_LINE_MAX);
	cJSON *o = cJSON_ParseWithLength(line, len);
	if (!o)
		return fp_errf(err, "invalid JSON");
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return fp_errf(err, "expected a JSON object");
	}
	bool eval = cJSON_GetObjectItemCaseSensitive(o, "compare") != NULL;
	if (check_task(o, eval, err) < 0) {
		cJSON_Delete(o);
		return -1;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	if (id && !id_ok(id->valuestring)) {
		fp_errf(err, "bad id '%.80s': expected 1 to %d of [A-Za-z0-9._-]",
		        id->valuestring, FP_TASK_ID_MAX);
		cJSON_Delete(o);
		return -1;
	}
	if (id)
		snprintf(t->id, sizeof t->id, "%s", id->valuestring);
	else
		snprintf(t->id, sizeof t->id, "line-%d", lineno);
	fp_sha256_hex_of(line, len, t->line_sha256);
	t->line = lineno;
	t->eval = eval;
	t->json = o;
	return 0;
}

void fp_task_free(struct fp_task *t)
{
	if (!t)
		return;
	cJSON_Delete(t->json);
	t->json = NULL;
}

bool fp_shard_has(int i, int k, int n)
{
	return n >= 1 && k >= 1 && k <= n && i % n == k - 1;
}

/* ---- the tasks file ----------------------------------------------------- */

struct tasks_file {
	char path[PATH_MAX];     /* absolute */
	char dir[PATH_MAX];      /* its directory: relative paths start here */
	char sha256[65];
	struct fp_task *tasks;   /* owned: every valid task of the file */
	size_t ntasks;
	int bad_in_shard;        /* bad lines of our shard (reported) */
};

static void tasks_file_free(struct tasks_file *tf)
{
	for (size_t i = 0; i < tf->ntasks; i++)
		fp_task_free(&tf->tasks[i]);
	free(tf->tasks);
	tf->tasks = NULL;
	tf->ntasks = 0;
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* An element of a sort: a pointer wrapped so sizeof names a struct. */
struct task_ref {
	struct fp_task *t;
};

static int cmp_task_id(const void *a, const void *b)
{
	const struct fp_task *x = ((const struct task_ref *)a)->t;
	const struct fp_task *y = ((const struct task_ref *)b)->t;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Later lines with an id seen before are bad lines; they are dropped (and
 * reported when in our shard). Decided over the whole file so that every
 * shard agrees. */
static void drop_duplicates(struct tasks_file *tf, const char *name, int k,
                            int n)
{
	struct task_ref *v = fp_xcalloc(tf->ntasks + 1, sizeof *v);
	for (size_t i = 0; i < tf->ntasks; i++)
		v[i].t = &tf->tasks[i];
	qsort(v, tf->ntasks, sizeof *v, cmp_task_id);
	for (size_t i = 1; i < tf->ntasks; i++) {
		size_t j = i;
		while (j > 0 && strcmp(v[j - 1].t->id, v[i].t->id) == 0)
			j--;
		if (j == i)
			continue;
		if (fp_shard_has(v[i].t->line - 1, k, n)) {
			fprintf(stderr, "firstpass: batch: %s:%d: duplicate id '%s' "
			        "(first on line %d)\n", name, v[i].t->line, v[i].t->id,
			        v[j].t->line);
			tf->bad_in_shard++;
		}
		fp_task_free(v[i].t);
		v[i].t->line = -v[i].t->line; /* marks it dropped */
	}
	free(v);
	size_t w = 0;
	for (size_t i = 0; i < tf->ntasks; i++)
		if (tf->tasks[i].line > 0)
			tf->tasks[w++] = tf->tasks[i];
	tf->ntasks = w;
}

static void parse_lines(struct tasks_file *tf, const char *text, size_t len,
                        const char *name, int k, int n)
{
	size_t cap = 16;
	tf->tasks = fp_xcalloc(cap, sizeof *tf->tasks);
	int lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *p = text + pos, *nl = memchr(p, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - p) : len - pos;
		pos += l + (nl ? 1 : 0);
		lineno++;
		if (l && p[l - 1] == '\r')
			l--;
		if (blank(p, l))
			continue;
		struct fp_err e;
		struct fp_task t;
		if (fp_task_parse(p, l, lineno, &t, &e) < 0) {
			if (fp_shard_has(lineno - 1, k, n)) {
				fprintf(stderr, "firstpass: batch: %s:%d: %s\n", name,
				        lineno, e.msg);
				tf->bad_in_shard++;
			}
			continue;
		}
		if (tf->ntasks == cap) {
			cap *= 2;
			tf->tasks = fp_xrealloc(tf->tasks, cap * sizeof *tf->tasks);
		}
		tf->tasks[tf->ntasks++] = t;
	}
}

static int tasks_file_load(struct tasks_file *tf, const char *path, int k,
                           int n, struct fp_err *err)
{
	char *text;
	size_t len;
	memset(tf, 0, sizeof *tf);
	if (!realpath(path, tf->path))
		return fp_errf(err, "cannot open '%s': %s", path, strerror(errno));
	if (fp_read_file(tf->path, TASKS_FILE_MAX, &text, &len, err) < 0)
		return -1;
	snprintf(tf->dir, sizeof tf->dir, "%s", tf->path);
	*strrchr(tf->dir, '/') = '\0';
	if (!tf->dir[0])
		strcpy(tf->dir, "/");
	fp_sha256_hex_of(text, len, tf->sha256);
	const char *base = strrchr(tf->path, '/') + 1;
	parse_lines(tf, text, len, base, k, n);
	free(text);
	drop_duplicates(tf, base, k, n);
	return 0;
}

/* ---- small helpers ------------------------------------------------------ */

static void fmt_dur(uint64_t ms, char *buf, size_t n)
{
	uint64_t s = (ms + 500) / 1000;
	if (s < 60)
		snprintf(buf, n, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, n, "%llum%02llus", (unsigned long long)(s / 60),
		         (unsigned long long)(s % 60));
	else
		snprintf(buf, n, "%lluh%02llum", (unsigned long long)(s / 3600),
		         (unsigned long long)(s % 3600 / 60));
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* Reads a JSON-lines file into an array of objects. A last line without
 * '\n' was torn by a crash: it is ignored and, when |trunc_fd| >= 0, cut
 * off the file. Lines that do not parse are skipped with a warning. */
static int read_jsonl(const char *path, int trunc_fd, cJSON **out,
                      struct fp_err *err)
{
	char *text;
	size_t len;
	*out = cJSON_CreateArray();
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0; /* nothing finished yet */
	if (fp_read_file(path, JSONL_MAX, &text, &len, err) < 0)
		return -1;
	size_t good = len;
	while (good > 0 && text[good - 1] != '\n')
		good--;
	if (good < len && trunc_fd >= 0) {
		fprintf(stderr, "firstpass: batch: '%s': cutting a torn last line "
		        "(%zu bytes)\n", path, len - good);
		if (ftruncate(trunc_fd, (off_t)good) < 0 || fsync(trunc_fd) < 0) {
			free(text);
			return fp_errf(err, "cannot truncate '%s': %s", path, strerror(errno));
		}
	}
	int lineno = 0;
	for (size_t pos = 0; pos < good;) {
		char *p = text + pos, *nl = memchr(p, '\n', good - pos);
		pos = (size_t)(nl - text) + 1;
		lineno++;
		cJSON *o = cJSON_ParseWithLength(p, (size_t)(nl - p));
		if (!cJSON_IsObject(o) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "id"))) {
			fprintf(stderr, "firstpass: batch: %s:%d: not a task record, "
			        "ignored\n", path, lineno);
			cJSON_Delete(o);
			continue;
		}
		cJSON_AddItemToArray(*out, o);
	}
	free(text);
	return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* ---- options ------------------------------------------------------------ */

struct batch_opts {
	const char *tasks, *out, *partition, *time_limit;
	int shard_k, shard_n, jobs, par, slurm_n;
	bool json, quiet, print;
};

static const char batch_usage[] =
	"usage: firstpass batch TASKS.jsonl --out DIR [options]\n"
	"\n"
	"Runs one task per line of TASKS.jsonl, each as its own 'firstpass run'\n"
	"(a goal) or 'firstpass eval' (\"compare\": candidates), into\n"
	"DIR/tasks/<id>. Finished tasks are recorded in DIR/batch.jsonl: running\n"
	"the same command again resumes (nothing finished is redone).\n"
	"\n"
	"  --out DIR              output directory (required)\n"
	"  --shard K/N            run only the K-th of N disjoint slices (line\n"
	"                         index i belongs to shard i % N + 1)\n"
	"  --jobs N               sandboxes at once within a task\n"
	"  --parallel-tasks M     tasks at once (default 1)\n"
	"  --slurm N              run as a Slurm job array of N shards into\n"
	"                         DIR/shard-K, wait, and merge into DIR\n"
	"  --partition P          Slurm partition (with --slurm)\n"
	"  --time T               Slurm time limit per shard (with --slurm)\n"
	"  --print                with --slurm: only write DIR/firstpass.sbatch\n"
	"  --json                 one JSON event per finished task on stdout\n"
	"  --quiet                no progress output\n"
	"  --help                 this text\n"
	"\n"
	"A task line: {\"id\": \"t1\", \"goal\": TEXT | \"goal_file\": PATH,\n"
	"\"generator\", \"model\", \"candidates\", \"rounds\", \"repair\", \"policy\",\n"
	"\"start_cmd\", \"test_cmd\", \"port\", \"probe\", \"jobs\"} or {\"id\": \"t2\",\n"
	"\"compare\": [PATH, ...], \"first_pass\": false, ...}. Relative paths are\n"
	"relative to the tasks file's directory. Bad lines are reported with\n"
	"their line number and skipped.\n"
	"\n"
	"Exit status: 0 every task of the shard finished (whatever its verdict),\n"
	"1 some task produced no results or some line was bad, 2 usage error,\n"
	"3 the sandbox cannot be set up on this host.\n";

enum { BO_OUT = 256, BO_SHARD, BO_JOBS, BO_PAR, BO_SLURM, BO_PART, BO_TIME,
       BO_PRINT, BO_JSON, BO_QUIET, BO_HELP };

static const struct option batch_long[] = {
	{ "out", required_argument, NULL, BO_OUT },
	{ "shard", required_argument, NULL, BO_SHARD },
	{ "jobs", required_argument, NULL, BO_JOBS },
	{ "parallel-tasks", required_argument, NULL, BO_PAR },
	{ "slurm", required_argument, NULL, BO_SLURM },
	{ "partition", required_argument, NULL, BO_PART },
	{ "time", required_argument, NULL, BO_TIME },
	{ "print", no_argument, NULL, BO_PRINT },
	{ "json", no_argument, NULL, BO_JSON },
	{ "quiet", no_argument, NULL, BO_QUIET },
	{ "help", no_argument, NULL, BO_HELP },
	{ NULL, 0, NULL, 0 },
};

static int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "firstpass: batch: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'firstpass batch --help'.\n");
	va_end(ap);
	return FP_EXIT_USAGE;
}

static int parse_shard(const char *s, int *k, int *n)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof buf)
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (parse_int(buf, 1, 100000, k) < 0 ||
	    parse_int(slash + 1, 1, 100000, n) < 0 || *k > *n)
		return -1;
	return 0;
}

/* Returns -1 to go on, else the exit code. */
static int batch_parse_opts(int argc, char **argv, struct batch_opts *o)
{
	int c;
	memset(o, 0, sizeof *o);
	o->shard_k = o->shard_n = 1;
	o->par = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", batch_long, NULL)) != -1) {
		switch (c) {
		case BO_OUT: o->out = optarg; break;
		case BO_SHARD:
			if (parse_shard(optarg, &o->shard_k, &o->shard_n) < 0)
				return usage_err("--shard '%s': expected K/N with 1 <= K <= N", optarg);
			break;
		case BO_JOBS:
			if (parse_int(optarg, 1, 4096, &o->jobs) < 0)
				return usage_err("--jobs '%s': expected 1 to 4096", optarg);
			break;
		case BO_PAR:
			if (parse_int(optarg, 1, 1024, &o->par) < 0)
				return usage_err("--parallel-tasks '%s': expected 1 to 1024", optarg);
			break;
		case BO_SLURM:
			if (parse_int(optarg, 1, 10000, &o->slurm_n) < 0)
				return usage_err("--slurm '%s': expected 1 to 10000 shards", optarg);
			break;
		case BO_PART: o->partition = optarg; break;
		case BO_TIME: o->time_limit = optarg; break;
		case BO_PRINT: o->print = true; break;
		case BO_JSON: o->json = true; break;
		case BO_QUIET: o->quiet = true; break;
		case BO_HELP: fputs(batch_usage, stdout); return FP_EXIT_PASS;
		case ':': return usage_err("'%s' needs a value", argv[optind - 1]);
		default: return usage_err("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage_err("%s", optind >= argc ? "expected one TASKS.jsonl file" :
		                 "expected exactly one TASKS.jsonl file");
	o->tasks = argv[optind];
	if (!o->out)
		return usage_err("%s", "--out DIR is required");
	if (o->slurm_n && o->shard_n > 1)
		return usage_err("%s", "--slurm and --shard exclude each other");
	if (!o->slurm_n && (o->print || o->partition || o->time_limit))
		return usage_err("%s", "--print, --partition and --time need --slurm");
	return -1;
}

/* ---- the batch run ------------------------------------------------------ */

struct done_rec {
	const char *id, *sha; /* borrowed from the records array */
};

struct slot {
	pid_t pid;            /* 0 = free */
	struct fp_task *t;
	uint64_t started_ms;
};

struct batch {
	struct batch_opts o;
	struct tasks_file tf;
	char out[PATH_MAX];
	int jfd;                 /* batch.jsonl: locked, O_APPEND */
	cJSON *records;          /* owned: batch.jsonl as read at start */
	struct done_rec *done;   /* sorted by id */
	size_t ndone;
	size_t *todo;            /* our shard's tasks not finished yet
	                            (indices into tf.tasks) */
	size_t ntodo, next;
	struct slot *slots;
	int shard_tasks, finished, passed, failed, failed_host, this_run;
	uint64_t t0_ms, last_draw_ms;
	bool tty, drawn;
	pid_t self;
	char exe[PATH_MAX];      /* this binary, for the task processes */
	int signo;               /* SIGINT/SIGTERM/SIGHUP received, or 0 */
};

static int meta_write(struct batch *b, struct fp_err *err)
{
	char path[PATH_MAX + 32];
	cJSON *m = cJSON_CreateObject();
	cJSON_AddNumberToObject(m, "version", 1);
	cJSON_AddStringToObject(m, "tasks_file", b->tf.path);
	cJSON_AddStringToObject(m, "tasks_sha256", b->tf.sha256);
	cJSON_AddNumberToObject(m, "shard_k", b->o.shard_k);
	cJSON_AddNumberToObject(m, "shard_n", b->o.shard_n);
	cJSON_AddNumberToObject(m, "tasks_total", (double)b->tf.ntasks);
	cJSON_AddNumberToObject(m, "shard_tasks", b->shard_tasks);
	char *s = cJSON_Print(m);
	cJSON_Delete(m);
	snprintf(path, sizeof path, "%s/batch-meta.json", b->out);
	int rc = fp_write_file_atomic(path, s, strlen(s), err);
	free(s);
	return rc;
}

/* A directory holds one batch: same tasks file (by content) and shard. */
static int meta_check(struct batch *b, struct fp_err *err)
{
	char path[PATH_MAX + 32], *text;
	size_t len;
	snprintf(path, sizeof path, "%s/batch-meta.json", b->out);
	if (access(path, F_OK) < 0)
		return meta_write(b, err);
	if (fp_read_file(path, 1u << 20, &text, &len, err) < 0)
		return -1;
	cJSON *m = cJSON_ParseWithLength(text, len);
	free(text);
	const char *sha = jstr(m, "tasks_sha256");
	int k = (int)jnum(m, "shard_k", 0), n = (int)jnum(m, "shard_n", 0);
	int rc = 0;
	if (!sha)
		rc = fp_errf(err, "'%s' is not a batch meta file", path);
	else if (strcmp(sha, b->tf.sha256) != 0)
		rc = fp_errf(err, "'%s' holds a batch of a different tasks file "
		             "('%s', sha256 %.12s, not %.12s): use another --out",
		             b->out, jstr(m, "tasks_file") ? jstr(m, "tasks_file") : "?",
		             sha, b->tf.sha256);
	else if (k != b->o.shard_k || n != b->o.shard_n)
		rc = fp_errf(err, "'%s' holds shard %d/%d of this batch, not %d/%d: "
		             "use another --out", b->out, k, n, b->o.shard_k,
		             b->o.shard_n);
	cJSON_Delete(m);
	return rc;
}

static int cmp_done(const void *a, const void *b)
{
	return strcmp(((const struct done_rec *)a)->id,
	              ((const struct done_rec *)b)->id);
}

static bool is_done(const struct batch *b, const struct fp_task *t)
{
	struct done_rec key = { t->id, NULL };
	const struct done_rec *d = bsearch(&key, b->done, b->ndone,
	                                   sizeof *b->done, cmp_done);
	return d && d->sha && !strcmp(d->sha, t->line_sha256);
}

static int journal_open(struct batch *b, struct fp_err *err)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/batch.jsonl", b->out);
	b->jfd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (b->jfd < 0)
		return fp_errf(err, "cannot open '%s': %s", path, strerror(errno));
	/* One batch per directory: two writers would redo each other's tasks. */
	if (flock(b->jfd, LOCK_EX | LOCK_NB) < 0)
		return fp_errf(err, "'%s' is in use by another firstpass batch", b->out);
	if (read_jsonl(path, b->jfd, &b->records, err) < 0)
		return -1;
	size_t n = (size_t)cJSON_GetArraySize(b->records);
	b->done = fp_xcalloc(n + 1, sizeof *b->done);
	const cJSON *r;
	cJSON_ArrayForEach(r, b->records) {
		b->done[b->ndone].id = jstr(r, "id");
		b->done[b->ndone++].sha = jstr(r, "line_sha256");
	}
	qsort(b->done, b->ndone, sizeof *b->done, cmp_done);
	return 0;
}

/* Our shard's tasks: finished ones are counted, the rest queued (their
 * leftover directories from a killed run removed: redone from scratch). */
static int plan(struct batch *b, struct fp_err *err)
{
	char dir[PATH_MAX + 128];
	b->todo = fp_xcalloc(b->tf.ntasks + 1, sizeof *b->todo);
	for (size_t i = 0; i < b->tf.ntasks; i++) {
		struct fp_task *t = &b->tf.tasks[i];
		if (!fp_shard_has(t->line - 1, b->o.shard_k, b->o.shard_n))
			continue;
		b->shard_tasks++;
		if (is_done(b, t)) {
			b->finished++;
			continue;
		}
		snprintf(dir, sizeof dir, "%s/tasks/%s", b->out, t->id);
		if (fp_remove_tree(dir) < 0)
			return fp_errf(err, "cannot remove '%s': %s", dir, strerror(errno));
		b->todo[b->ntodo++] = i;
	}
	const cJSON *r;
	cJSON_ArrayForEach(r, b->records)
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "pass")))
			b->passed++;
	return 0;
}

/* ---- spawning a task ---------------------------------------------------- */

struct argv_vec {
	char **v;
	size_t n, cap;
};

static void av_add(struct argv_vec *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = fp_xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = fp_strdup(s);
	a->v[a->n] = NULL;
}

static void av_free(struct argv_vec *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

static void av_opt(struct argv_vec *a, const cJSON *o, const char *key,
                   const char *flag)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char num[32];
	if (!v)
		return;
	if (cJSON_IsString(v)) {
		av_add(a, flag);
		av_add(a, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		snprintf(num, sizeof num, "%d", v->valueint);
		av_add(a, flag);
		av_add(a, num);
	} else if (cJSON_IsTrue(v)) {
		av_add(a, flag);
	}
}

static void task_argv(const struct batch *b, const struct fp_task *t,
                      const char *dir, struct argv_vec *a)
{
	const cJSON *o = t->json, *e;
	char num[32];
	av_add(a, "firstpass");
	av_add(a, t->eval ? "eval" : "run");
	av_add(a, "--out");
	av_add(a, dir);
	if (!cJSON_GetObjectItemCaseSensitive(o, "jobs") && b->o.jobs) {
		snprintf(num, sizeof num, "%d", b->o.jobs);
		av_add(a, "--jobs");
		av_add(a, num);
	}
	av_opt(a, o, "jobs", "--jobs");
	av_opt(a, o, "policy", "--policy");
	av_opt(a, o, "start_cmd", "--start-cmd");
	av_opt(a, o, "test_cmd", "--test-cmd");
	av_opt(a, o, "port", "--port");
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "probe")))
		av_add(a, "--no-probe");
	else if (jstr(o, "probe"))
		av_opt(a, o, "probe", "--probe");
	if (t->eval) {
		av_opt(a, o, "first_pass", "--first-pass");
		av_add(a, "--");
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "compare"))
			av_add(a, e->valuestring);
		return;
	}
	av_opt(a, o, "goal", "--goal-text");
	av_opt(a, o, "goal_file", "--goal");
	av_opt(a, o, "generator", "--generator");
	av_opt(a, o, "model", "--model");
	av_opt(a, o, "candidates", "--candidates");
	av_opt(a, o, "rounds", "--rounds");
	av_opt(a, o, "repair", "--repair");
}

/* The binary by its path, so task processes show as "firstpass" in ps;
 * /proc/self/exe when it was replaced on disk (a rebuild mid-batch). */
static void self_exe(char *buf, size_t n)
{
	ssize_t r = readlink("/proc/self/exe", buf, n - 1);
	if (r <= 0 || (size_t)r >= n - 1 ||
	    (r > 10 && !memcmp(buf + r - 10, " (deleted)", 10))) {
		snprintf(buf, n, "/proc/self/exe");
		return;
	}
	buf[r] = '\0';
}

/* After fork: async-signal-safe calls only. */
static void __attribute__((noreturn))
child_exec(pid_t parent, int null_fd, int log_fd, const char *cwd,
           const char *exe, char **argv)
{
	static const char lost[] = "firstpass: batch: parent gone before exec\n";
	static const char fail[] = "firstpass: batch: cannot start the task\n";
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* the mask survives exec */
	/* Dies with the batch; if the batch already died before the prctl,
	 * our parent is someone else now and the signal would never come. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) {
		(void)!write(log_fd, lost, sizeof lost - 1);
		_exit(127);
	}
	if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0 ||
	    chdir(cwd) < 0) {
		(void)!write(log_fd, fail, sizeof fail - 1);
		_exit(127);
	}
	execv(exe, argv);
	(void)!write(2, fail, sizeof fail - 1);
	_exit(127);
}

static int spawn_task(struct batch *b, struct slot *s, struct fp_task *t,
                      struct fp_err *err)
{
	char dir[PATH_MAX + 128], log[PATH_MAX + 128];
	struct argv_vec a = { 0 };
	snprintf(dir, sizeof dir, "%s/tasks/%s", b->out, t->id);
	snprintf(log, sizeof log, "%s/logs/%s.log", b->out, t->id);
	task_argv(b, t, dir, &a);
	int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid = (lfd < 0 || nfd < 0) ? -1 : fork();
	if (pid == 0)
		child_exec(b->self, nfd, lfd, b->tf.dir, b->exe, a.v);
	int e = errno;
	if (lfd >= 0)
		close(lfd);
	if (nfd >= 0)
		close(nfd);
	av_free(&a);
	if (pid < 0)
		return fp_errf(err, "cannot start task '%s': %s", t->id, strerror(e));
	s->pid = pid;
	s->t = t;
	s->started_ms = fp_now_ms();
	return 0;
}

/* ---- a finished task ---------------------------------------------------- */

/* The generator as the user named it, for grouping pass rates: the task's
 * own field, else the first word of what run recorded ("replay ..."). */
static void add_group_fields(cJSON *rec, const struct fp_task *t,
                             const cJSON *res)
{
	char g[128];
	const char *tg = jstr(t->json, "generator"), *rg = jstr(res, "generator");
	if (t->eval)
		snprintf(g, sizeof g, "eval");
	else if (tg)
		snprintf(g, sizeof g, "%s", tg);
	else
		snprintf(g, sizeof g, "%.*s", rg ? (int)strcspn(rg, " ") : 7,
		         rg ? rg : "default");
	cJSON_AddStringToObject(rec, "generator", g);
	const char *p = jstr(t->json, "policy");
	if (!p)
		p = jstr(res, "policy");
	cJSON_AddStringToObject(rec, "policy", p ? p : "default");
}

static void add_num_or_null(cJSON *o, const char *k, const cJSON *v)
{
	if (cJSON_IsNumber(v))
		cJSON_AddNumberToObject(o, k, v->valuedouble);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *make_record(const struct fp_task *t, const cJSON *res,
                          int exit_code, uint64_t wall_ms)
{
	char stamp[32], dir[FP_TASK_ID_MAX + 8];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	const char *w = jstr(res, "winner");
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "id", t->id);
	cJSON_AddNumberToObject(r, "line", t->line);
	cJSON_AddStringToObject(r, "line_sha256", t->line_sha256);
	cJSON_AddStringToObject(r, "command", t->eval ? "eval" : "run");
	cJSON_AddBoolToObject(r, "pass", w != NULL);
	if (w)
		cJSON_AddStringToObject(r, "winner", w);
	else
		cJSON_AddNullToObject(r, "winner");
	cJSON_AddNumberToObject(r, "candidates", cJSON_GetArraySize(
		cJSON_GetObjectItemCaseSensitive(res, "candidates")));
	cJSON_AddNumberToObject(r, "wall_ms", jnum(res, "wall_ms", (double)wall_ms));
	add_num_or_null(r, "time_to_first_pass_ms",
	                cJSON_GetObjectItemCaseSensitive(res, "time_to_first_pass_ms"));
	cJSON_AddNumberToObject(r, "exit_code", exit_code);
	add_group_fields(r, t, res);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(res, "verdicts");
	if (cJSON_IsObject(v))
		cJSON_AddItemToObject(r, "verdicts", cJSON_Duplicate(v, 1));
	cJSON_AddStringToObject(r, "finished", stamp);
	snprintf(dir, sizeof dir, "tasks/%s", t->id);
	cJSON_AddStringToObject(r, "dir", dir);
	return r;
}

/* One write() of a whole line, then fsync: a crash leaves either nothing
 * or a line without its '\n', which the next start cuts off. */
static int journal_append(struct batch *b, const cJSON *rec, struct fp_err *err)
{
	char *s = cJSON_PrintUnformatted(rec);
	size_t n = strlen(s);
	s = fp_xrealloc(s, n + 2);
	s[n++] = '\n';
	off_t before = lseek(b->jfd, 0, SEEK_END);
	ssize_t w = write(b->jfd, s, n);
	int e = errno;
	free(s);
	if (w == (ssize_t)n && fsync(b->jfd) == 0)
		return 0;
	if (w >= 0 && w != (ssize_t)n) /* short write (disk full): undo it */
		(void)!ftruncate(b->jfd, before);
	return fp_errf(err, "cannot append to '%s/batch.jsonl': %s", b->out,
	               strerror(w < 0 ? e : ENOSPC));
}

static cJSON *load_results(const char *dir)
{
	char path[PATH_MAX + 160], *text;
	size_t len;
	struct fp_err e;
	snprintf(path, sizeof path, "%s/results.json", dir);
	if (fp_read_file(path, RESULTS_MAX, &text, &len, &e) < 0)
		return NULL;
	cJSON *o = cJSON_ParseWithLength(text, len);
	free(text);
	if (!cJSON_IsObject(o) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "candidates"))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void progress_clear(struct batch *b)
{
	if (b->drawn)
		fputs("\r\033[K", stderr);
	b->drawn = false;
}

static void progress_draw(struct batch *b)
{
	char el[32], left[48] = "";
	uint64_t now = fp_now_ms(), elapsed = now - b->t0_ms;
	if (!b->tty || b->o.quiet)
		return;
	fmt_dur(elapsed, el, sizeof el);
	int remaining = b->shard_tasks - b->finished - b->failed;
	if (b->this_run > 0 && remaining > 0) {
		char d[32];
		fmt_dur(elapsed * (uint64_t)remaining / (uint64_t)b->this_run, d, sizeof d);
		snprintf(left, sizeof left, ", ~%s left", d);
	}
	fprintf(stderr, "\r\033[Ktasks %d/%d done, pass rate %.1f%%, elapsed %s%s",
	        b->finished, b->shard_tasks,
	        b->finished ? 100.0 * b->passed / b->finished : 0.0, el, left);
	fflush(stderr);
	b->drawn = true;
	b->last_draw_ms = now;
}

static void report_done(struct batch *b, const cJSON *rec)
{
	const char *w = jstr(rec, "winner");
	char d[32];
	if (b->o.json) {
		cJSON *ev = cJSON_Duplicate(rec, 1);
		cJSON_AddStringToObject(ev, "event", "task_finished");
		char *s = cJSON_PrintUnformatted(ev);
		printf("%s\n", s);
		fflush(stdout);
		free(s);
		cJSON_Delete(ev);
	}
	if (b->o.quiet || b->tty)
		return;
	fmt_dur((uint64_t)jnum(rec, "wall_ms", 0), d, sizeof d);
	fprintf(stderr, "firstpass: batch: [%d/%d] %s: %s%s, %d candidates, %s\n",
	        b->finished, b->shard_tasks, jstr(rec, "id"),
	        w ? "passed, winner " : "no pass", w ? w : "",
	        (int)jnum(rec, "candidates", 0), d);
}

static void task_failed(struct batch *b, const struct fp_task *t, int status)
{
	char why[64];
	if (WIFSIGNALED(status))
		snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(why, sizeof why, "exit %d", WEXITSTATUS(status));
	progress_clear(b);
	fprintf(stderr, "firstpass: batch: task '%s' (line %d) failed: %s, no "
	        "results (see '%s/logs/%s.log')\n", t->id, t->line, why, b->out,
	        t->id);
	b->failed++;
	if (WIFEXITED(status) && WEXITSTATUS(status) == FP_EXIT_HOST)
		b->failed_host++;
	if (b->o.json) {
		printf("{\"event\":\"task_failed\",\"id\":\"%s\",\"line\":%d}\n",
		       t->id, t->line);
		fflush(stdout);
	}
}

static void task_reaped(struct batch *b, struct slot *s, int status)
{
	char dir[PATH_MAX + 128];
	struct fp_err err;
	snprintf(dir, sizeof dir, "%s/tasks/%s", b->out, s->t->id);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	cJSON *res = (code == 0 || code == 1) ? load_results(dir) : NULL;
	if (!res) {
		task_failed(b, s->t, status);
		s->pid = 0;
		return;
	}
	cJSON *rec = make_record(s->t, res, code, fp_now_ms() - s->started_ms);
	cJSON_Delete(res);
	/* The task's own page, unless its run wrote one already. */
	char rep[PATH_MAX + 160];
	snprintf(rep, sizeof rep, "%s/report.html", dir);
	if (access(rep, F_OK) < 0 && fp_report_write(dir, &err) < 0)
		fprintf(stderr, "firstpass: batch: %s\n", err.msg);
	if (journal_append(b, rec, &err) < 0) {
		fprintf(stderr, "firstpass: batch: %s\n", err.msg);
		b->failed++;
	} else {
		b->finished++;
		b->this_run++;
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "pass")))
			b->passed++;
		progress_clear(b);
		report_done(b, rec);
	}
	cJSON_Delete(rec);
	s->pid = 0;
}

static void reap(struct batch *b)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < b->o.par; i++) {
			if (b->slots[i].pid == pid) {
				task_reaped(b, &b->slots[i], status);
				break;
			}
		}
	}
}

static int running(const struct batch *b)
{
	int n = 0;
	for (int i = 0; i < b->o.par; i++)
		n += b->slots[i].pid != 0;
	return n;
}

/* SIGINT/SIGTERM/SIGHUP: no new task starts; the running ones get the
 * same signal (each `firstpass run` kills its boxes, writes an interrupted
 * result and exits 128+N, which is not journaled, so a rerun redoes it);
 * we wait for them and exit 128+N ourselves. */
static void forward_signal(struct batch *b, int sig)
{
	if (b->signo)
		return;
	b->signo = sig;
	b->next = b->ntodo;
	for (int i = 0; i < b->o.par; i++)
		if (b->slots[i].pid)
			kill(b->slots[i].pid, sig);
}

static int run_all(struct batch *b)
{
	sigset_t set;
	struct fp_err err;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* Blocked so sigtimedwait can wait for them; unblocked in each child. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	b->slots = fp_xcalloc((size_t)b->o.par, sizeof *b->slots);
	for (;;) {
		for (int i = 0; i < b->o.par && b->next < b->ntodo; i++) {
			if (b->slots[i].pid)
				continue;
			struct fp_task *t = &b->tf.tasks[b->todo[b->next++]];
			if (spawn_task(b, &b->slots[i], t, &err) < 0) {
				fprintf(stderr, "firstpass: batch: %s\n", err.msg);
				b->failed++;
			}
		}
		if (!running(b))
			break;
		progress_draw(b);
		struct timespec tick = { 1, 0 };
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
			forward_signal(b, sig);
		reap(b);
	}
	progress_clear(b);
	free(b->slots);
	b->slots = NULL;
	return 0;
}

/* ---- Slurm -------------------------------------------------------------- */

/* ---- running a shard here ----------------------------------------------- */

static void batch_free(struct batch *b)
{
	if (b->jfd > 0)
		close(b->jfd);
	cJSON_Delete(b->records);
	free(b->done);
	free(b->todo);
	tasks_file_free(&b->tf);
}

/* DIR/results.json and DIR/report.html from everything batch.jsonl holds
 * now (earlier runs' records and this one's). */
static int batch_summary(struct batch *b, struct fp_err *err)
{
	char path[PATH_MAX + 32];
	cJSON *rows;
	snprintf(path, sizeof path, "%s/batch.jsonl", b->out);
	if (read_jsonl(path, -1, &rows, err) < 0)
		return -1;
	cJSON *head = cJSON_CreateObject();
	cJSON_AddNumberToObject(head, "version", 1);
	cJSON_AddStringToObject(head, "command", "batch");
	cJSON_AddStringToObject(head, "tasks_file", b->tf.path);
	cJSON_AddStringToObject(head, "tasks_sha256", b->tf.sha256);
	cJSON_AddNumberToObject(head, "shard_k", b->o.shard_k);
	cJSON_AddNumberToObject(head, "shard_n", b->o.shard_n);
	cJSON_AddNumberToObject(head, "bad_lines", b->tf.bad_in_shard);
	int rc = fp_batch_write_summary(b->out, head, rows, b->shard_tasks, err);
	cJSON_Delete(head);
	cJSON_Delete(rows);
	return rc;
}

/* 0: every task of the shard finished (whatever its verdict); 3: every
 * failure was the host's (the sandbox cannot be set up); 1: some task left
 * no result or some line was bad. */
static int batch_exit(const struct batch *b)
{
	if (b->failed && b->failed == b->failed_host)
		return FP_EXIT_HOST;
	if (b->failed || b->tf.bad_in_shard || b->finished < b->shard_tasks)
		return FP_EXIT_NONE;
	return FP_EXIT_PASS;
}

static int batch_local(struct batch *b)
{
	struct fp_err err;
	int rc;
	char logs[PATH_MAX + 32];
	b->jfd = -1;
	b->self = getpid();
	b->t0_ms = fp_now_ms();
	b->tty = isatty(2) && !b->o.json;
	self_exe(b->exe, sizeof b->exe);
	if (fp_mkdirs(b->o.out, &err) < 0 || !realpath(b->o.out, b->out)) {
		fprintf(stderr, "firstpass: batch: cannot create --out '%s'\n", b->o.out);
		tasks_file_free(&b->tf);
		return FP_EXIT_USAGE;
	}
	snprintf(logs, sizeof logs, "%s/logs", b->out);
	if (journal_open(b, &err) < 0 || meta_check(b, &err) < 0 ||
	    fp_mkdirs(logs, &err) < 0 || plan(b, &err) < 0) {
		fprintf(stderr, "firstpass: batch: %s\n", err.msg);
		batch_free(b);
		return FP_EXIT_USAGE;
	}
	if (!b->o.quiet && b->finished)
		fprintf(stderr, "firstpass: batch: resuming: %d of %d tasks already "
		        "done\n", b->finished, b->shard_tasks);
	run_all(b);
	if (batch_summary(b, &err) < 0)
		fprintf(stderr, "firstpass: batch: %s\n", err.msg), b->failed++;
	rc = batch_exit(b);
	if (b->signo) {
		fprintf(stderr, "firstpass: batch: interrupted by SIG%s: running "
		        "tasks stopped; run the same command again to resume\n",
		        sigabbrev_np(b->signo));
		rc = 128 + b->signo;
	}
	batch_free(b);
	return rc;
}

static int merge_dirs(const char *out, char **dirs, int n, bool quiet,
                      bool allow_missing);

/* Characters that survive both an #SBATCH line and sh quoting unharmed. */
static bool slurm_safe(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("/._-+:,=@%", *s)))
			return false;
	return true;
}

static int write_sbatch(const struct batch *b, const char *self, char *path,
                        size_t pathsz, struct fp_err *err)
{
	struct fp_buf s;
	const struct batch_opts *o = &b->o;
	fp_buf_init(&s, 1u << 20);
	fp_buf_printf(&s, "#!/bin/sh\n"
	              "# written by firstpass batch --slurm: shard K of %d runs\n"
	              "# 'firstpass batch --shard K/%d'; merge with 'firstpass merge'\n"
	              "#SBATCH --job-name=firstpass\n#SBATCH --array=1-%d\n"
	              "#SBATCH --output=%s/slurm-%%A_%%a.out\n",
	              o->slurm_n, o->slurm_n, o->slurm_n, b->out);
	if (o->partition)
		fp_buf_printf(&s, "#SBATCH --partition=%s\n", o->partition);
	if (o->time_limit)
		fp_buf_printf(&s, "#SBATCH --time=%s\n", o->time_limit);
	fp_buf_printf(&s, "exec %s batch %s --out %s/shard-\"$SLURM_ARRAY_TASK_ID\""
	              " --shard \"$SLURM_ARRAY_TASK_ID\"/%d --parallel-tasks %d",
	              self, b->tf.path, b->out, o->slurm_n, o->par);
	if (o->jobs)
		fp_buf_printf(&s, " --jobs %d", o->jobs);
	fp_buf_printf(&s, "\n");
	snprintf(path, pathsz, "%s/firstpass.sbatch", b->out);
	int rc = fp_write_file_atomic(path, s.data, s.len, err);
	fp_buf_free(&s);
	if (rc == 0)
		chmod(path, 0755);
	return rc;
}

/* Runs a host command with stdout captured (capped); returns its exit
 * status (-1 when it could not run). */
static int capture(char *const argv[], char *out, size_t outsz)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(p[1], 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (pid > 0 && (r = read(p[0], out + n, outsz - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (n += (size_t)r) >= outsz - 1)
			break;
	}
	out[n] = '\0';
	close(p[0]);
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The array is done when squeue no longer lists it (no sacct: there may be
 * no slurmdbd). Once the job is purged squeue fails with "Invalid job id";
 * it also fails while slurmctld restarts, so only a few failures in a row
 * count as gone. */
static void slurm_wait(const char *jobid, bool quiet)
{
	char out[CAPTURE_MAX];
	char *argv[] = { "squeue", "-h", "-j", (char *)jobid, NULL };
	uint64_t t0 = fp_now_ms();
	int failures = 0;
	for (;;) {
		int rc = capture(argv, out, sizeof out);
		failures = rc != 0 ? failures + 1 : 0;
		if (failures >= 3 || (rc == 0 && !out[strspn(out, " \n")]))
			break;
		if (!quiet && isatty(2)) {
			char d[32];
			int lines = 0;
			for (const char *p = out; (p = strchr(p, '\n')); p++)
				lines++;
			fmt_dur(fp_now_ms() - t0, d, sizeof d);
			fprintf(stderr, "\r\033[Kslurm job %s: %d queue entries, %s",
			        jobid, lines, d);
		}
		struct timespec ts = { SLURM_POLL_MS / 1000, 0 };
		nanosleep(&ts, NULL);
	}
	if (!quiet && isatty(2))
		fputs("\r\033[K", stderr);
}

static int batch_slurm(struct batch *b)
{
	char self[PATH_MAX], script[PATH_MAX + 32], out[CAPTURE_MAX];
	struct fp_err err;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return usage_err("%s", "cannot find the firstpass binary");
	self[n] = '\0';
	if (fp_mkdirs(b->o.out, &err) < 0 || !realpath(b->o.out, b->out))
		return usage_err("cannot create --out '%s'", b->o.out);
	if (!slurm_safe(self) || !slurm_safe(b->tf.path) || !slurm_safe(b->out) ||
	    (b->o.partition && !slurm_safe(b->o.partition)) ||
	    (b->o.time_limit && !slurm_safe(b->o.time_limit)))
		return usage_err("%s", "--slurm: paths, --partition and --time may "
		                 "only hold [A-Za-z0-9/._-+:,=@%]");
	if (write_sbatch(b, self, script, sizeof script, &err) < 0) {
		fprintf(stderr, "firstpass: batch: %s\n", err.msg);
		return FP_EXIT_USAGE;
	}
	if (b->o.print) {
		printf("%s\n", script);
		return FP_EXIT_PASS;
	}
	char *sb[] = { "sbatch", "--parsable", script, NULL };
	if (capture(sb, out, sizeof out) != 0 || !out[0]) {
		fprintf(stderr, "firstpass: batch: sbatch '%s' failed\n", script);
		return FP_EXIT_USAGE;
	}
	out[strcspn(out, ";\n")] = '\0'; /* "JOBID[;CLUSTER]" */
	if (!b->o.quiet)
		fprintf(stderr, "firstpass: batch: submitted slurm job %s (%d shards;"
		        " cancel with 'scancel %s')\n", out, b->o.slurm_n, out);
	slurm_wait(out, b->o.quiet);
	char **dirs = fp_xcalloc((size_t)b->o.slurm_n, sizeof *dirs);
	for (int k = 0; k < b->o.slurm_n; k++) {
		char d[PATH_MAX + 32];
		snprintf(d, sizeof d, "%s/shard-%d", b->out, k + 1);
		dirs[k] = fp_strdup(d);
	}
	int rc = merge_dirs(b->out, dirs, b->o.slurm_n, b->o.quiet, true);
	if (rc == FP_EXIT_PASS && b->tf.bad_in_shard)
		rc = FP_EXIT_NONE; /* as without Slurm: not every line ran */
	for (int k = 0; k < b->o.slurm_n; k++)
		free(dirs[k]);
	free(dirs);
	return rc;
}

int fp_cmd_batch(int argc, char **argv)
{
	struct batch b;
	struct fp_err err;
	memset(&b, 0, sizeof b);
	int rc = batch_parse_opts(argc, argv, &b.o);
	if (rc >= 0)
		return rc;
	int k = b.o.shard_k, n = b.o.shard_n;
	if (b.o.slurm_n)
		k = n = 1; /* report every bad line once, here */
	if (tasks_file_load(&b.tf, b.o.tasks, k, n, &err) < 0) {
		fprintf(stderr, "firstpass: batch: %s\n", err.msg);
		return FP_EXIT_USAGE;
	}
	if (b.o.slurm_n) {
		rc = batch_slurm(&b);
		tasks_file_free(&b.tf);
		return rc;
	}
	return batch_local(&b);
}

/* ---- the summary -------------------------------------------------------- */

struct row_ref {
	cJSON *row;
	double line;
};

static int cmp_row_line(const void *a, const void *b)
{
	double x = ((const struct row_ref *)a)->line;
	double y = ((const struct row_ref *)b)->line;
	return (x > y) - (x < y);
}

static cJSON *sorted_rows(const cJSON *rows)
{
	int n = cJSON_GetArraySize(rows), i = 0;
	struct row_ref *v = fp_xcalloc((size_t)n + 1, sizeof *v);
	const cJSON *r;
	cJSON_ArrayForEach(r, rows) {
		v[i].row = cJSON_Duplicate(r, 1);
		v[i++].line = jnum(r, "line", 0);
	}
	qsort(v, (size_t)n, sizeof *v, cmp_row_line);
	cJSON *out = cJSON_CreateArray();
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(out, v[i].row);
	free(v);
	return out;
}

/* {"<value of key>": {"tasks", "passed", "pass_rate"}} */
static cJSON *group_by(const cJSON *rows, const char *key)
{
	cJSON *g = cJSON_CreateObject();
	const cJSON *r;
	cJSON_ArrayForEach(r, rows) {
		const char *k = jstr(r, key);
		if (!k)
			continue;
		cJSON *e = cJSON_GetObjectItemCaseSensitive(g, k);
		cJSON *t, *p, *rate;
		if (!e) {
			e = cJSON_AddObjectToObject(g, k);
			t = cJSON_AddNumberToObject(e, "tasks", 0);
			p = cJSON_AddNumberToObject(e, "passed", 0);
			rate = cJSON_AddNumberToObject(e, "pass_rate", 0);
		} else {
			t = cJSON_GetObjectItemCaseSensitive(e, "tasks");
			p = cJSON_GetObjectItemCaseSensitive(e, "passed");
			rate = cJSON_GetObjectItemCaseSensitive(e, "pass_rate");
		}
		if (!t || !p || !rate)
			continue;
		cJSON_SetNumberValue(t, t->valuedouble + 1);
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "pass")))
			cJSON_SetNumberValue(p, p->valuedouble + 1);
		cJSON_SetNumberValue(rate, p->valuedouble / t->valuedouble);
	}
	return g;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void add_ttfp_median(cJSON *o, const cJSON *rows)
{
	int n = cJSON_GetArraySize(rows), m = 0;
	double *v = fp_xcalloc((size_t)n + 1, sizeof *v);
	const cJSON *r;
	cJSON_ArrayForEach(r, rows) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "time_to_first_pass_ms");
		if (cJSON_IsNumber(t))
			v[m++] = t->valuedouble;
	}
	qsort(v, (size_t)m, sizeof *v, cmp_double);
	if (m)
		cJSON_AddNumberToObject(o, "time_to_first_pass_median_ms",
		                        m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2);
	else
		cJSON_AddNullToObject(o, "time_to_first_pass_median_ms");
	free(v);
}

int fp_batch_write_summary(const char *out, const cJSON *head,
                           const cJSON *rows, int tasks_total,
                           struct fp_err *err)
{
	char path[PATH_MAX + 32];
	cJSON *o = cJSON_Duplicate(head, 1);
	cJSON *sorted = sorted_rows(rows);
	int done = cJSON_GetArraySize(sorted), passed = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, sorted)
		passed += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "pass"));
	cJSON_AddNumberToObject(o, "tasks_total", tasks_total);
	cJSON_AddNumberToObject(o, "tasks_done", done);
	cJSON_AddNumberToObject(o, "tasks_passed", passed);
	if (done)
		cJSON_AddNumberToObject(o, "pass_rate", (double)passed / done);
	else
		cJSON_AddNullToObject(o, "pass_rate");
	cJSON_AddBoolToObject(o, "complete", done >= tasks_total);
	add_ttfp_median(o, sorted);
	cJSON_AddItemToObject(o, "by_generator", group_by(sorted, "generator"));
	cJSON_AddItemToObject(o, "by_policy", group_by(sorted, "policy"));
	cJSON_AddItemToObject(o, "tasks", sorted);
	char *s = cJSON_Print(o);
	cJSON_Delete(o);
	snprintf(path, sizeof path, "%s/results.json", out);
	int rc = fp_write_file_atomic(path, s, strlen(s), err);
	free(s);
	if (rc < 0)
		return -1;
	return fp_report_write(out, err);
}

/* ---- merge -------------------------------------------------------------- */

struct shard {
	const char *arg;
	char real[PATH_MAX];
	char sha[65];
	char *tasks_file;   /* owned */
	int k, n, total;
	cJSON *rows;        /* owned */
};

static int shard_load(struct shard *s, const char *dir, struct fp_err *err)
{
	char path[PATH_MAX + 32], *text;
	size_t len;
	s->arg = dir;
	if (!realpath(dir, s->real))
		return fp_errf(err, "cannot open '%s': %s", dir, strerror(errno));
	snprintf(path, sizeof path, "%s/batch-meta.json", s->real);
	if (fp_read_file(path, 1u << 20, &text, &len, err) < 0)
		return fp_errf(err, "'%s' is not a batch output: no readable "
		               "batch-meta.json", dir);
	cJSON *m = cJSON_ParseWithLength(text, len);
	free(text);
	const char *sha = jstr(m, "tasks_sha256");
	if (!sha || strlen(sha) != 64) {
		cJSON_Delete(m);
		return fp_errf(err, "'%s': batch-meta.json lacks tasks_sha256", dir);
	}
	memcpy(s->sha, sha, 65);
	s->tasks_file = fp_strdup(jstr(m, "tasks_file") ? jstr(m, "tasks_file") : "?");
	s->k = (int)jnum(m, "shard_k", 0);
	s->n = (int)jnum(m, "shard_n", 0);
	s->total = (int)jnum(m, "tasks_total", 0);
	cJSON_Delete(m);
	if (s->n < 1 || s->k < 1 || s->k > s->n)
		return fp_errf(err, "'%s': batch-meta.json has no valid shard", dir);
	snprintf(path, sizeof path, "%s/batch.jsonl", s->real);
	return read_jsonl(path, -1, &s->rows, err);
}

/* Same tasks file, same N, each K once, each task id once and in the
 * shard its line belongs to. */
static int shards_check(struct shard *s, int n, struct fp_err *err)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(s[i].sha, s[0].sha) != 0)
			return fp_errf(err, "'%s' is a batch of a different tasks file "
			               "than '%s' ('%s', sha256 %.12s vs '%s', %.12s)",
			               s[i].arg, s[0].arg, s[i].tasks_file, s[i].sha,
			               s[0].tasks_file, s[0].sha);
		if (s[i].n != s[0].n)
			return fp_errf(err, "'%s' is shard %d/%d but '%s' is %d/%d: "
			               "shards of different splits overlap", s[i].arg,
			               s[i].k, s[i].n, s[0].arg, s[0].k, s[0].n);
		for (int j = 0; j < i; j++)
			if (s[j].k == s[i].k)
				return fp_errf(err, "'%s' and '%s' are both shard %d/%d",
				               s[j].arg, s[i].arg, s[i].k, s[i].n);
		const cJSON *r;
		cJSON_ArrayForEach(r, s[i].rows) {
			int line = (int)jnum(r, "line", 0);
			if (!fp_shard_has(line - 1, s[i].k, s[i].n))
				return fp_errf(err, "'%s': task '%s' (line %d) is not in "
				               "shard %d/%d", s[i].arg, jstr(r, "id"), line,
				               s[i].k, s[i].n);
		}
	}
	return 0;
}

/* Row "dir" relative to the merge output when the shard lies below it
 * (the Slurm layout), else absolute. */
static void rebase_dirs(const struct shard *s, const char *out, cJSON *rows)
{
	char d[PATH_MAX * 2];
	size_t ol = strlen(out);
	cJSON *r;
	cJSON_ArrayForEach(r, rows) {
		const char *rel = jstr(r, "dir");
		if (!rel)
			continue;
		if (!strncmp(s->real, out, ol) && s->real[ol] == '/')
			snprintf(d, sizeof d, "%s/%s", s->real + ol + 1, rel);
		else
			snprintf(d, sizeof d, "%s/%s", s->real, rel);
		cJSON_ReplaceItemInObjectCaseSensitive(r, "dir", cJSON_CreateString(d));
	}
}

static int merge_write(const char *out, struct shard *s, int n,
                       struct fp_err *err)
{
	char path[PATH_MAX + 32];
	cJSON *all = cJSON_CreateArray(), *head = cJSON_CreateObject(), *r;
	for (int i = 0; i < n; i++) {
		rebase_dirs(&s[i], out, s[i].rows);
		cJSON_ArrayForEach(r, s[i].rows)
			cJSON_AddItemToArray(all, cJSON_Duplicate(r, 1));
	}
	cJSON *sorted = sorted_rows(all);
	struct fp_buf jl;
	fp_buf_init(&jl, JSONL_MAX);
	cJSON_ArrayForEach(r, sorted) {
		char *line = cJSON_PrintUnformatted(r);
		fp_buf_printf(&jl, "%s\n", line);
		free(line);
	}
	snprintf(path, sizeof path, "%s/batch.jsonl", out);
	int rc = fp_write_file_atomic(path, jl.data ? jl.data : "", jl.len, err);
	fp_buf_free(&jl);
	cJSON_AddNumberToObject(head, "version", 1);
	cJSON_AddStringToObject(head, "command", "merge");
	cJSON_AddStringToObject(head, "tasks_file", s[0].tasks_file);
	cJSON_AddStringToObject(head, "tasks_sha256", s[0].sha);
	cJSON_AddNumberToObject(head, "shard_n", s[0].n);
	cJSON *sh = cJSON_AddArrayToObject(head, "shards");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(sh, cJSON_CreateString(s[i].real));
	if (rc == 0)
		rc = fp_batch_write_summary(out, head, sorted, s[0].total, err);
	cJSON_Delete(head);
	cJSON_Delete(sorted);
	cJSON_Delete(all);
	return rc;
}

static bool is_shard_dir(const char *dir)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/batch-meta.json", dir);
	return access(path, F_OK) == 0;
}

/* |allow_missing|: a Slurm shard that never started has no directory;
 * merge the rest and say so (exit 1) rather than refuse. */
static int merge_dirs(const char *out, char **dirs, int n, bool quiet,
                      bool allow_missing)
{
	struct shard *s = fp_xcalloc((size_t)n + 1, sizeof *s);
	struct fp_err err;
	char real_out[PATH_MAX];
	int m = 0, missing = 0, rc = FP_EXIT_USAGE;
	for (int i = 0; i < n; i++) {
		if (allow_missing && access(dirs[i], F_OK) < 0) {
			fprintf(stderr, "firstpass: merge: '%s' missing (shard never "
			        "ran?)\n", dirs[i]);
			missing++;
			continue;
		}
		if (shard_load(&s[m++], dirs[i], &err) < 0)
			goto fail;
	}
	if (m == 0) {
		fp_errf(&err, "no shard to merge");
		goto fail;
	}
	if (shards_check(s, m, &err) < 0 || fp_mkdirs(out, &err) < 0)
		goto fail;
	if (!realpath(out, real_out) || is_shard_dir(real_out)) {
		fp_errf(&err, "'%s' holds a batch run: merge into another directory", out);
		goto fail;
	}
	if (merge_write(real_out, s, m, &err) < 0)
		goto fail;
	int done = 0, passed = 0;
	for (int i = 0; i < m; i++) {
		const cJSON *r;
		cJSON_ArrayForEach(r, s[i].rows) {
			done++;
			passed += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "pass"));
		}
	}
	if (m + missing < s[0].n && !quiet)
		fprintf(stderr, "firstpass: merge: %d of %d shards given\n", m, s[0].n);
	if (!quiet)
		fprintf(stderr, "firstpass: merge: %d/%d tasks done, %d passed "
		        "(%.1f%%), results in '%s/results.json'\n", done, s[0].total,
		        passed, done ? 100.0 * passed / done : 0.0, real_out);
	rc = done >= s[0].total ? FP_EXIT_PASS : FP_EXIT_NONE;
	goto out;
fail:
	fprintf(stderr, "firstpass: merge: %s\n", err.msg);
out:
	for (int i = 0; i < n; i++) {
		free(s[i].tasks_file);
		cJSON_Delete(s[i].rows);
	}
	free(s);
	return rc;
}

static const char merge_usage[] =
	"usage: firstpass merge DIR... --out OUT [--quiet]\n"
	"\n"
	"Combines the outputs of 'firstpass batch --shard K/N' runs into\n"
	"OUT/batch.jsonl, OUT/results.json and OUT/report.html. Refuses shards\n"
	"of different tasks files, of different N, or the same shard twice.\n"
	"\n"
	"Exit status: 0 every task of the tasks file is in the result, 1 some\n"
	"are missing (a shard not given or not finished), 2 usage error or\n"
	"refused shards.\n";

int fp_cmd_merge(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	bool quiet = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'q')
			quiet = true;
		else if (c == 'h')
			return fputs(merge_usage, stdout), FP_EXIT_PASS;
		else
			return fprintf(stderr, "firstpass: merge: bad option '%s'\n"
			               "Try 'firstpass merge --help'.\n",
			               argv[optind - 1]), FP_EXIT_USAGE;
	}
	if (!out || optind >= argc) {
		fputs("firstpass: merge: expected DIR... --out OUT\n"
		      "Try 'firstpass merge --help'.\n", stderr);
		return FP_EXIT_USAGE;
	}
	return merge_dirs(out, argv + optind, argc - optind, quiet, false);
}
