/* cmd_run.c - `firstpass run` (goal -> rounds -> first pass) and
 * `firstpass eval` (existing candidates -> verdicts, comparison table).
 *
 * Both drive one event loop: generator replies (run) enter the pipeline as
 * soon as they arrive; the pipeline reports phases and verdicts through
 * on_cand(); after every loop iteration tick() decides what happens next
 * (announce a winner and cancel the generator, start the next round with
 * the failures as feedback, or finish).
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <dirent.h>

#include "cli.h"
#include "gen.h"
#include "pipeline.h"
#include "policy.h"
#include "report.h"
#include "results.h"
#include "sandbox.h"

#ifndef FP_SOURCE_EXAMPLES_DIR
#define FP_SOURCE_EXAMPLES_DIR "examples"
#endif
#define EXAMPLE_DIR FP_SOURCE_EXAMPLES_DIR "/notes"
#define GOAL_CAP (1u << 20)
#define FEEDBACK_CAP (48u << 10)
#define FEEDBACK_REPAIR_CAP (160u << 10)
#define MAX_ROUNDS 100
#define TTY_REDRAW_MS 250

struct run_opts {
	bool eval;
	const char *goal_file, *goal_text, *generator, *model, *base_url;
	const char *policy, *out, *start_cmd, *test_cmd, *probe;
	int candidates;      /* 0 = default */
	int rounds, jobs;
	unsigned port;
	bool json, quiet, verbose, repair, first_pass;
};

struct run_ctx {
	struct run_opts o;
	struct fp_loop *loop;
	struct fp_pipe *pipe;
	struct fp_gen *gen;
	struct fp_policy pol;
	bool pol_loaded;
	struct fp_events *ev;
	char *goal;               /* owned */
	char out[PATH_MAX];
	uint64_t t0_ms, epoch0_ms;
	struct fp_round_info rounds[MAX_ROUNDS];
	int nrounds;
	int requested, replies, gen_errors; /* of the current round */
	bool finished;
	bool winner_done;
	bool tty;
	int drawn;                /* live lines on screen */
	int cols;                 /* terminal width: a wrapped line breaks the
	                             cursor-up redraw */
	struct fp_timer *redraw_t;
	int sig_fd;               /* signalfd for SIGINT/SIGTERM/SIGHUP */
	bool results_lost;        /* results.json could not be written */
	int signo;                /* the signal that interrupted us, or 0 */
};

/* SIGINT/SIGTERM/SIGHUP: every box is killed and every candidate gets a
 * verdict (cancelled), results.json records the interruption, and the
 * exit code is 128 + the signal. (SIGKILL needs none of this: each box's
 * init dies with us by PR_SET_PDEATHSIG, stale cgroups are swept by the
 * next run.) */
static void on_signal(void *arg, int fd, uint32_t events)
{
	struct run_ctx *x = arg;
	struct signalfd_siginfo si;
	char why[64];

	(void)events;
	if (read(fd, &si, sizeof si) != (ssize_t)sizeof si || x->signo)
		return;
	x->signo = (int)si.ssi_signo;
	snprintf(why, sizeof why, "interrupted by SIG%s", sigabbrev_np(x->signo));
	if (x->gen)
		fp_gen_cancel_all(x->gen);
	fp_pipe_cancel_all(x->pipe, why);
	x->finished = true;
}

static int watch_signals(struct run_ctx *x)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &s, NULL) < 0)
		return -1;
	x->sig_fd = signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
	if (x->sig_fd < 0)
		return -1;
	return fp_loop_watch(x->loop, x->sig_fd, EPOLLIN, on_signal, x);
}

/* ---- usage ---------------------------------------------------------------- */

static const char run_usage[] =
	"usage: firstpass run [--goal FILE | --goal-text TEXT] [options]\n"
	"\n"
	"Generates candidate repositories for a goal, tests them in parallel\n"
	"sandboxes and keeps the first that passes; failures feed the next round.\n"
	"\n"
	"  --goal FILE            the goal text from a file\n"
	"  --goal-text TEXT       the goal text itself\n"
	"  --candidates N         candidates per round (default 4; replay: all)\n"
	"  --rounds R             maximum rounds (default 3)\n"
	"  --generator G          openai-responses | openai-chat | command:CMD |\n"
	"                         replay:DIR (default: openai-responses with\n"
	"                         OPENAI_API_KEY, else the bundled example)\n"
	"  --model NAME           model name for the OpenAI generators\n"
	"  --base-url URL         API base (default $OPENAI_BASE_URL)\n"
	"  --repair               feed the failed files back for a repair\n";

static const char eval_usage[] =
	"usage: firstpass eval [options] CANDIDATE...\n"
	"\n"
	"Starts and tests existing candidates (directories or JSON file maps)\n"
	"in sandboxes and prints a comparison table.\n"
	"\n"
	"  --first-pass           stop at the first passing candidate and\n"
	"                         cancel the rest (default: run all to a verdict)\n";

static const char common_usage[] =
	"  --policy FILE|NAME     sandbox policy (default: default)\n"
	"  --jobs N               sandboxes at once (default: number of CPUs)\n"
	"  --out DIR              output directory (default\n"
	"                         ./firstpass-out/<timestamp>)\n"
	"  --start-cmd CMD        start command (default: python3 api/main.py)\n"
	"  --test-cmd CMD         test command (default: python3 -m pytest ...)\n"
	"  --port N               port the app listens on (default 8000)\n"
	"  --probe 'GET /PATH'    HTTP probe after start (default 'GET /notes')\n"
	"  --no-probe             skip the probe\n"
	"  --json                 JSON events on stdout, one per line\n"
	"  --quiet                no progress output\n"
	"  --verbose              more progress output\n"
	"  --help                 this text\n"
	"\n"
	"Exit status: 0 a candidate passed, 1 none passed, 2 usage or\n"
	"configuration error, 3 the sandbox cannot be set up on this host.\n";

static void print_usage(bool eval, FILE *f)
{
	fputs(eval ? eval_usage : run_usage, f);
	fputs(common_usage, f);
}

__attribute__((format(printf, 2, 3)))
static int usage_error(bool eval, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "firstpass: %s: ", eval ? "eval" : "run");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'firstpass %s --help'.\n", eval ? "eval" : "run");
	return FP_EXIT_USAGE;
}

/* ---- options ---------------------------------------------------------------- */

enum {
	OPT_GOAL = 256, OPT_GOAL_TEXT, OPT_CANDIDATES, OPT_ROUNDS, OPT_GENERATOR,
	OPT_MODEL, OPT_BASE_URL, OPT_REPAIR, OPT_FIRST_PASS, OPT_POLICY,
	OPT_JOBS, OPT_OUT, OPT_START_CMD, OPT_TEST_CMD, OPT_PORT, OPT_PROBE,
	OPT_NO_PROBE, OPT_JSON, OPT_QUIET, OPT_VERBOSE, OPT_HELP,
};

static const struct option long_opts[] = {
	{ "goal", required_argument, NULL, OPT_GOAL },
	{ "goal-text", required_argument, NULL, OPT_GOAL_TEXT },
	{ "candidates", required_argument, NULL, OPT_CANDIDATES },
	{ "rounds", required_argument, NULL, OPT_ROUNDS },
	{ "generator", required_argument, NULL, OPT_GENERATOR },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "base-url", required_argument, NULL, OPT_BASE_URL },
	{ "repair", no_argument, NULL, OPT_REPAIR },
	{ "first-pass", no_argument, NULL, OPT_FIRST_PASS },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "start-cmd", required_argument, NULL, OPT_START_CMD },
	{ "test-cmd", required_argument, NULL, OPT_TEST_CMD },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "probe", required_argument, NULL, OPT_PROBE },
	{ "no-probe", no_argument, NULL, OPT_NO_PROBE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static bool parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* "GET /notes": a method in capitals, one space, a path without spaces. */
static bool probe_ok(const char *s)
{
	size_t m = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");

	return m > 0 && s[m] == ' ' && s[m + 1] == '/' && strlen(s) < 200 &&
	       !strpbrk(s + m + 1, " \t\r\n");
}

/* Options only one of the two commands knows. */
static bool opt_for(int c, bool eval)
{
	switch (c) {
	case OPT_GOAL: case OPT_GOAL_TEXT: case OPT_CANDIDATES: case OPT_ROUNDS:
	case OPT_GENERATOR: case OPT_MODEL: case OPT_BASE_URL: case OPT_REPAIR:
		return !eval;
	case OPT_FIRST_PASS:
		return eval;
	default:
		return true;
	}
}

static int parse_num_opt(int c, const char *arg, struct run_opts *o)
{
	long v;

	switch (c) {
	case OPT_CANDIDATES:
		if (!parse_int(arg, 1, 1000, &v))
			return -1;
		o->candidates = (int)v;
		return 0;
	case OPT_ROUNDS:
		if (!parse_int(arg, 1, MAX_ROUNDS, &v))
			return -1;
		o->rounds = (int)v;
		return 0;
	case OPT_JOBS:
		if (!parse_int(arg, 1, 1024, &v))
			return -1;
		o->jobs = (int)v;
		return 0;
	case OPT_PORT:
		if (!parse_int(arg, 1, 65535, &v))
			return -1;
		o->port = (unsigned)v;
		return 0;
	default:
		return -1;
	}
}

static int set_opt(int c, const char *arg, struct run_opts *o)
{
	switch (c) {
	case OPT_GOAL: o->goal_file = arg; break;
	case OPT_GOAL_TEXT: o->goal_text = arg; break;
	case OPT_GENERATOR: o->generator = arg; break;
	case OPT_MODEL: o->model = arg; break;
	case OPT_BASE_URL: o->base_url = arg; break;
	case OPT_REPAIR: o->repair = true; break;
	case OPT_FIRST_PASS: o->first_pass = true; break;
	case OPT_POLICY: o->policy = arg; break;
	case OPT_OUT: o->out = arg; break;
	case OPT_START_CMD: o->start_cmd = arg; break;
	case OPT_TEST_CMD: o->test_cmd = arg; break;
	case OPT_PROBE: o->probe = arg; break;
	case OPT_NO_PROBE: o->probe = NULL; break;
	case OPT_JSON: o->json = true; break;
	case OPT_QUIET: o->quiet = true; break;
	case OPT_VERBOSE: o->verbose = true; break;
	default:
		return parse_num_opt(c, arg, o);
	}
	return 0;
}

/* Returns -1 to go on, else an exit code (help printed or usage error). */
static int parse_opts(int argc, char **argv, struct run_opts *o)
{
	int c;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	o->rounds = 3;
	o->jobs = n > 0 ? (int)n : 1;
	o->port = 8000;
	o->probe = "GET /notes";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == OPT_HELP) {
			print_usage(o->eval, stdout);
			return FP_EXIT_PASS;
		}
		if (c == '?' || c == ':' || !opt_for(c, o->eval))
			return usage_error(o->eval, "unknown or incomplete option "
			                   "'%s'", argv[optind - 1]);
		if (set_opt(c, optarg, o) < 0)
			return usage_error(o->eval, "bad value '%s' for '%s'",
			                   optarg, argv[optind - 1]);
	}
	if (o->probe && !probe_ok(o->probe))
		return usage_error(o->eval, "bad --probe '%s' (expected e.g. "
		                   "'GET /notes')", o->probe);
	if (o->goal_file && o->goal_text)
		return usage_error(o->eval, "--goal and --goal-text exclude each "
		                   "other");
	if (o->eval && optind >= argc)
		return usage_error(o->eval, "no candidates given");
	if (!o->eval && optind < argc)
		return usage_error(o->eval, "unexpected argument '%s'",
		                   argv[optind]);
	return -1;
}

/* ---- progress output ------------------------------------------------------ */

static bool human(const struct run_ctx *x)
{
	return !x->o.json && !x->o.quiet;
}

static const char *state_of(const struct fp_cand *c)
{
	return c->verdict != FP_V_NONE ? fp_verdict_name(c->verdict)
	                                : fp_phase_name(c->phase);
}

static int current_round(const struct run_ctx *x)
{
	return x->nrounds ? x->rounds[x->nrounds - 1].round : 1;
}

/* Redraws the live block: one line per candidate of the current round. */
static void draw(struct run_ctx *x)
{
	uint64_t now = fp_now_ms() - x->t0_ms;
	int round = current_round(x), lines = 0;

	if (!x->tty || !human(x))
		return;
	if (x->drawn)
		printf("\033[%dA", x->drawn);
	for (size_t i = 0; i < fp_pipe_count(x->pipe); i++) {
		const struct fp_cand *c = fp_pipe_get(x->pipe, i);
		uint64_t end = c->verdict != FP_V_NONE ? c->done_ms : now;
		if (c->round != round)
			continue;
		printf("\r\033[2K%-12.40s %-9s %6.1fs  %.*s\n", c->id,
		       state_of(c), (double)(end - c->added_ms) / 1000.0,
		       x->cols > 40 ? x->cols - 33 : 8, c->reason);
		lines++;
	}
	x->drawn = lines;
	fflush(stdout);
}

/* A line outside the live block (the block restarts below it). */
__attribute__((format(printf, 2, 3)))
static void say(struct run_ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (!human(x))
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	x->drawn = 0;
}

static void on_redraw(void *arg)
{
	struct run_ctx *x = arg;

	x->redraw_t = fp_loop_timer(x->loop, TTY_REDRAW_MS, on_redraw, x);
	draw(x);
}

static cJSON *tests_json(const struct fp_test_counts *t)
{
	cJSON *o = cJSON_CreateObject();
	long v[4] = { t->passed, t->failed, t->errors, t->skipped };
	const char *k[4] = { "passed", "failed", "errors", "skipped" };

	for (int i = 0; i < 4; i++) {
		if (v[i] < 0)
			cJSON_AddNullToObject(o, k[i]);
		else
			cJSON_AddNumberToObject(o, k[i], (double)v[i]);
	}
	return o;
}

/* The pipeline's callback: events, then the human view. */
static void on_cand(void *arg, const struct fp_cand *c)
{
	struct run_ctx *x = arg;
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "id", c->id);
	cJSON_AddNumberToObject(f, "round", c->round);
	if (c->verdict == FP_V_NONE) {
		cJSON_AddStringToObject(f, "phase", fp_phase_name(c->phase));
		fp_events_emit(x->ev, "candidate_phase", f);
		if (!x->tty && (x->o.verbose || c->phase != FP_PH_QUEUED))
			say(x, "%s %s\n", c->id, fp_phase_name(c->phase));
	} else {
		cJSON_AddStringToObject(f, "verdict",
		                        fp_verdict_name(c->verdict));
		cJSON_AddStringToObject(f, "reason", c->reason);
		cJSON_AddItemToObject(f, "tests", tests_json(&c->tests));
		cJSON_AddNumberToObject(f, "wall_ms",
		                        (double)(c->done_ms - c->added_ms));
		fp_events_emit(x->ev, "candidate_verdict", f);
		if (!x->tty)
			say(x, "%s %s: %s\n", c->id,
			    fp_verdict_name(c->verdict), c->reason);
	}
	draw(x);
}

/* ---- rounds ------------------------------------------------------------------ */

static void on_reply(void *arg, int index, int ok, char *text,
                     const char *errmsg)
{
	struct run_ctx *x = arg;
	int round = current_round(x);
	char id[48], reason[400];

	snprintf(id, sizeof id, "r%d-c%d", round, index);
	x->replies++;
	if (ok == 0 && text) {
		fp_pipe_add_text(x->pipe, id, round, index, text, strlen(text));
	} else {
		/* not the candidate's fault, but it is a candidate that never
		 * came: an error verdict keeps the count honest */
		x->gen_errors++;
		snprintf(reason, sizeof reason, "generator: %s",
		         errmsg ? errmsg : "no reply");
		fp_pipe_add_verdict(x->pipe, id, round, index, FP_V_ERROR,
		                    reason);
	}
	free(text);
}

/* Concatenates the failures of |round| for the next prompt. */
static char *round_feedback(const struct run_ctx *x, int round)
{
	struct fp_buf b;
	int n = 0;

	fp_buf_init(&b, x->o.repair ? FEEDBACK_REPAIR_CAP : FEEDBACK_CAP);
	for (size_t i = 0; i < fp_pipe_count(x->pipe); i++)
		n += fp_pipe_get(x->pipe, i)->round == round;
	fp_buf_printf(&b, "None of the %d candidates of round %d passed. What "
	              "went wrong, per candidate:\n\n", n, round);
	for (size_t i = 0; i < fp_pipe_count(x->pipe); i++) {
		const struct fp_cand *c = fp_pipe_get(x->pipe, i);
		if (c->round != round || !c->feedback)
			continue;
		fp_buf_printf(&b, "%s\n", c->feedback);
	}
	if (b.truncated)
		fp_buf_printf(&b, "\n[feedback truncated]\n");
	return fp_buf_steal(&b);
}

/* <out>/prompts/round-N.txt: what the generator was asked, for review. */
static void save_prompt(const struct run_ctx *x, int round, const char *prompt)
{
	char path[PATH_MAX + 64];
	struct fp_err err;

	snprintf(path, sizeof path, "%s/prompts", x->out);
	if (!prompt || fp_mkdirs(path, &err) < 0)
		return;
	snprintf(path, sizeof path, "%s/prompts/round-%d.txt", x->out, round);
	if (fp_write_file_atomic(path, prompt, strlen(prompt), &err) < 0)
		fprintf(stderr, "firstpass: %s\n", err.msg);
}

static int start_round(struct run_ctx *x)
{
	struct fp_round_info *r = &x->rounds[x->nrounds];
	int round = x->nrounds + 1;
	char *fb = round > 1 ? round_feedback(x, round - 1) : NULL;
	char *prompt = fp_gen_prompt(x->goal, fb);
	struct fp_err err;
	cJSON *f;

	memset(r, 0, sizeof *r);
	r->round = round;
	r->started_ms = fp_now_ms() - x->t0_ms;
	r->requested = x->o.candidates;
	r->prompt_bytes = prompt ? strlen(prompt) : 0;
	x->nrounds++;
	save_prompt(x, round, prompt);
	x->requested = x->o.candidates;
	x->replies = x->gen_errors = 0;
	f = cJSON_CreateObject();
	cJSON_AddNumberToObject(f, "round", round);
	cJSON_AddNumberToObject(f, "candidates", x->o.candidates);
	cJSON_AddNumberToObject(f, "prompt_bytes", (double)r->prompt_bytes);
	fp_events_emit(x->ev, "round_started", f);
	say(x, "round %d: %d candidates\n", round, x->o.candidates);
	for (int i = 1; i <= x->o.candidates; i++) {
		if (fp_gen_request(x->gen, round, i, prompt, on_reply, x,
		                   &err) < 0) {
			char id[48], reason[FP_ERR_MAX + 16];
			snprintf(id, sizeof id, "r%d-c%d", round, i);
			snprintf(reason, sizeof reason, "generator: %s", err.msg);
			x->replies++;
			x->gen_errors++;
			fp_pipe_add_verdict(x->pipe, id, round, i, FP_V_ERROR,
			                    reason);
		}
	}
	free(fb);
	free(prompt);
	return 0;
}

static void announce_winner(struct run_ctx *x, const struct fp_cand *w)
{
	char src[PATH_MAX], dst[PATH_MAX + 32];
	struct fp_err err;
	cJSON *f = cJSON_CreateObject();

	x->winner_done = true;
	if (x->gen)
		fp_gen_cancel_all(x->gen);
	snprintf(src, sizeof src, "%s/files", w->dir);
	snprintf(dst, sizeof dst, "%s/winner", x->out);
	fp_remove_tree(dst);
	if (fp_copy_tree(src, dst, &err) < 0)
		fprintf(stderr, "firstpass: winner copy: %s\n", err.msg);
	cJSON_AddStringToObject(f, "id", w->id);
	cJSON_AddStringToObject(f, "path", dst);
	cJSON_AddNumberToObject(f, "time_to_first_pass_ms", (double)w->done_ms);
	cJSON_AddNumberToObject(f, "cancel_latency_ms",
	                        (double)fp_pipe_cancel_latency_ms(x->pipe));
	fp_events_emit(x->ev, "winner", f);
}

static bool round_complete(const struct run_ctx *x)
{
	return x->replies >= x->requested && fp_pipe_pending(x->pipe) == 0;
}

/* Runs after every loop iteration: what happens next. */
static void tick(struct run_ctx *x)
{
	const struct fp_cand *w = fp_pipe_winner(x->pipe);
	struct fp_round_info *r;

	if (fp_pipe_host_error(x->pipe)) {
		if (x->gen)
			fp_gen_cancel_all(x->gen);
		fp_pipe_cancel_all(x->pipe, "the sandbox cannot be "
		                   "set up on this host");
		x->finished = true;
	} else if (w && !x->winner_done) {
		announce_winner(x, w);
		if (!x->o.eval || x->o.first_pass || !fp_pipe_pending(x->pipe))
			x->finished = true;
	} else if (x->o.eval) {
		x->finished = fp_pipe_pending(x->pipe) == 0;
	} else if (round_complete(x)) {
		r = &x->rounds[x->nrounds - 1];
		r->wall_ms = fp_now_ms() - x->t0_ms - r->started_ms;
		if (x->nrounds < x->o.rounds && x->gen_errors < x->requested)
			start_round(x);
		else
			x->finished = true;
	}
	if (x->finished && x->nrounds && !x->rounds[x->nrounds - 1].wall_ms)
		x->rounds[x->nrounds - 1].wall_ms = fp_now_ms() - x->t0_ms -
		        x->rounds[x->nrounds - 1].started_ms;
}

/* ---- setup ------------------------------------------------------------------- */

static int make_out_dir(struct run_ctx *x)
{
	struct fp_err err;
	char stamp[32], sub[PATH_MAX + 32];
	time_t now = time(NULL);
	struct tm tm;

	if (x->o.out) {
		snprintf(x->out, sizeof x->out, "%s", x->o.out);
	} else {
		localtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
		snprintf(x->out, sizeof x->out, "firstpass-out/%s", stamp);
		/* two runs in the same second get distinct directories */
		for (int i = 2; access(x->out, F_OK) == 0 && i < 1000; i++)
			snprintf(x->out, sizeof x->out, "firstpass-out/%s-%d",
			         stamp, i);
	}
	snprintf(sub, sizeof sub, "%s/candidates", x->out);
	if (fp_mkdirs(sub, &err) < 0) {
		fprintf(stderr, "firstpass: %s\n", err.msg);
		return FP_EXIT_USAGE;
	}
	return -1;
}

/* Saved candidates in a replay directory: *.json files and directories. */
static int count_replay(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		if ((l > 5 && !strcmp(e->d_name + l - 5, ".json")) ||
		    e->d_type == DT_DIR)
			n++;
	}
	closedir(d);
	return n;
}

static int load_goal(struct run_ctx *x, bool bundled)
{
	struct fp_err err;
	const char *file = x->o.goal_file;
	size_t len;

	if (x->o.goal_text) {
		x->goal = fp_strdup(x->o.goal_text);
		return -1;
	}
	if (!file && bundled)
		file = EXAMPLE_DIR "/goal.md";
	if (!file) {
		if (x->o.generator && !strncmp(x->o.generator, "replay:", 7)) {
			x->goal = fp_strdup("");
			return -1;
		}
		return usage_error(false, "--goal FILE or --goal-text TEXT is "
		                   "required");
	}
	if (fp_read_file(file, GOAL_CAP, &x->goal, &len, &err) < 0) {
		fprintf(stderr, "firstpass: run: %s\n", err.msg);
		return FP_EXIT_USAGE;
	}
	return -1;
}

/* Picks the generator (explicit, API key, or the bundled example). */
static int open_generator(struct run_ctx *x)
{
	struct fp_gen_opts go;
	struct fp_err err;
	const char *key = getenv("OPENAI_API_KEY");
	const char *spec = x->o.generator;
	bool bundled = false;
	int rc;

	if (!spec && key && *key) {
		spec = "openai-responses";
	} else if (!spec) {
		spec = "replay:" EXAMPLE_DIR "/candidates";
		bundled = true;
		if (!x->o.json)
			fprintf(stderr, "firstpass: no OPENAI_API_KEY and no "
			        "--generator: replaying the bundled offline "
			        "example (%s)\n", EXAMPLE_DIR);
	}
	if ((rc = load_goal(x, bundled)) >= 0)
		return rc;
	if (!x->o.candidates)
		x->o.candidates = !strncmp(spec, "replay:", 7) ?
		                  count_replay(spec + 7) : 4;
	if (x->o.candidates < 1)
		x->o.candidates = 1;
	fp_gen_opts_default(&go);
	if (x->o.model)
		go.model = x->o.model;
	if (x->o.base_url)
		go.base_url = x->o.base_url;
	x->gen = fp_gen_open(spec, &go, x->loop, &err);
	if (!x->gen) {
		fprintf(stderr, "firstpass: run: %s\n", err.msg);
		return FP_EXIT_USAGE;
	}
	return -1;
}

static int setup(struct run_ctx *x)
{
	struct fp_err err;
	struct sbx_error se;
	char path[PATH_MAX + 32];
	struct fp_pipe_opts po;
	struct winsize ws;
	int rc;

	x->t0_ms = fp_now_ms();
	x->epoch0_ms = fp_wall_ms();
	if (fp_policy_load(x->o.policy ? x->o.policy : "default", &x->pol,
	                   &err) < 0) {
		fprintf(stderr, "firstpass: %s: policy: %s\n",
		        x->o.eval ? "eval" : "run", err.msg);
		return FP_EXIT_USAGE;
	}
	x->pol_loaded = true;
	memset(&se, 0, sizeof se);
	if (sbx_probe_host(&se) < 0 && se.host) {
		fprintf(stderr, "firstpass: sandbox: %s\n", se.msg);
		return FP_EXIT_HOST;
	}
	x->loop = fp_loop_new();
	if (!x->o.eval && (rc = open_generator(x)) >= 0)
		return rc;
	if ((rc = make_out_dir(x)) >= 0)
		return rc;
	snprintf(path, sizeof path, "%s/events.jsonl", x->out);
	x->ev = fp_events_open(path, x->o.json, x->t0_ms, &err);
	if (!x->ev) {
		fprintf(stderr, "firstpass: %s\n", err.msg);
		return FP_EXIT_USAGE;
	}
	memset(&po, 0, sizeof po);
	po.policy = &x->pol;
	po.out_dir = x->out;
	po.start_cmd = x->o.start_cmd;
	po.test_cmd = x->o.test_cmd;
	po.port = x->o.port;
	po.probe = x->o.probe;
	po.jobs = x->o.jobs;
	po.first_pass = !x->o.eval || x->o.first_pass;
	po.repair = x->o.repair;
	po.t0_ms = x->t0_ms;
	x->pipe = fp_pipe_new(x->loop, &po, on_cand, x);
	x->tty = isatty(STDOUT_FILENO) && human(x);
	x->cols = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ?
	          ws.ws_col : 80;
	if (x->tty)
		x->redraw_t = fp_loop_timer(x->loop, TTY_REDRAW_MS, on_redraw, x);
	return -1;
}

/* ---- eval ---------------------------------------------------------------------- */

/* An id from a path's basename: [A-Za-z0-9._-] kept, ".json" dropped,
 * made unique among the ids already used. */
static void eval_id(const struct run_ctx *x, const char *path, char *id,
                    size_t len)
{
	char base[PATH_MAX], tmp[200];
	size_t n;
	const char *s;

	snprintf(base, sizeof base, "%s", path);
	n = strlen(base);
	while (n > 1 && base[n - 1] == '/')
		base[--n] = '\0';
	s = strrchr(base, '/') ? strrchr(base, '/') + 1 : base;
	snprintf(tmp, sizeof tmp, "%.190s", s);
	n = strlen(tmp);
	if (n > 5 && !strcmp(tmp + n - 5, ".json"))
		tmp[n - 5] = '\0';
	for (char *p = tmp; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		            "0123456789._-", *p))
			*p = '_';
	if (tmp[0] == '.' || !tmp[0])
		tmp[0] = tmp[0] ? '_' : 'c';
	snprintf(id, len, "%s", tmp);
	for (int k = 2;; k++) {
		bool used = false;
		for (size_t i = 0; i < fp_pipe_count(x->pipe) && !used; i++)
			used = !strcmp(fp_pipe_get(x->pipe, i)->id, id);
		if (!used)
			return;
		snprintf(id, len, "%s-%d", tmp, k);
	}
}

static void eval_add(struct run_ctx *x, const char *path, int index)
{
	struct fp_filemap map = { NULL, 0 };
	struct fp_err err;
	struct stat st;
	char id[220], reason[FP_ERR_MAX + 16];
	char *text = NULL;
	size_t len;
	size_t cap = x->pol.cand.max_total_bytes * 2 + (1u << 20);

	eval_id(x, path, id, sizeof id);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (fp_cand_load(path, &x->pol.cand, &map, &err) == 0) {
			fp_pipe_add_map(x->pipe, id, 1, index, &map);
			return;
		}
	} else if (fp_read_file(path, cap, &text, &len, &err) == 0) {
		/* a saved model reply: extraction handles fences and prose */
		fp_pipe_add_text(x->pipe, id, 1, index, text, len);
		free(text);
		return;
	}
	snprintf(reason, sizeof reason, "validate: %s", err.msg);
	fp_pipe_add_verdict(x->pipe, id, 1, index, FP_V_INVALID, reason);
}

static void print_table(const struct run_ctx *x)
{
	printf("\n%-20s %-9s %5s %5s %7s %7s %7s  %s\n", "candidate", "verdict",
	       "pass", "fail", "time", "cpu", "mem", "reason");
	for (size_t i = 0; i < fp_pipe_count(x->pipe); i++) {
		const struct fp_cand *c = fp_pipe_get(x->pipe, i);
		char pass[24] = "-", fail[24] = "-";
		if (c->tests.passed >= 0)
			snprintf(pass, sizeof pass, "%ld", c->tests.passed);
		if (c->tests.failed >= 0)
			snprintf(fail, sizeof fail, "%ld",
			         c->tests.failed + (c->tests.errors > 0 ?
			                            c->tests.errors : 0));
		printf("%-20s %-9s %5s %5s %6.1fs %6.1fs %5lluMB  %s\n", c->id,
		       fp_verdict_name(c->verdict), pass, fail,
		       (double)(c->done_ms - c->added_ms) / 1000.0,
		       (double)c->res.cpu_ms / 1000.0,
		       (unsigned long long)(c->res.max_rss_kb / 1024), c->reason);
	}
}

/* ---- finish -------------------------------------------------------------------- */

static void print_summary(const struct run_ctx *x, int counts[FP_V_COUNT])
{
	const struct fp_cand *w = fp_pipe_winner(x->pipe);
	bool first = true;

	if (x->o.eval)
		print_table(x);
	printf("\n");
	if (w)
		printf("winner: %s  %s/winner\n", w->id, x->out);
	else if (fp_pipe_host_error(x->pipe))
		printf("no winner: the sandbox cannot be set up (%s)\n",
		       fp_pipe_setup_error_is_config(x->pipe) ? "policy" : "host");
	else
		printf("no candidate passed%s\n", x->o.eval ? "" :
		       x->nrounds > 1 ? " in any round" : "");
	printf("verdicts:");
	for (int v = FP_V_PASSED; v < FP_V_COUNT; v++) {
		if (!counts[v])
			continue;
		printf("%s %d %s", first ? "" : ",", counts[v],
		       fp_verdict_name((enum fp_verdict)v));
		first = false;
	}
	printf("\n");
	if (w)
		printf("time to first pass: %.2fs (others cancelled in %llu ms)\n",
		       (double)w->done_ms / 1000.0,
		       (unsigned long long)fp_pipe_cancel_latency_ms(x->pipe));
	if (!x->results_lost)
		printf("results: %s/results.json\n", x->out);
}

static int finish(struct run_ctx *x)
{
	struct fp_results_info info;
	const struct fp_cand *w = fp_pipe_winner(x->pipe);
	struct fp_err err;
	int counts[FP_V_COUNT] = { 0 };
	int rc = w ? FP_EXIT_PASS : FP_EXIT_NONE;
	cJSON *f, *vc;

	if (fp_pipe_host_error(x->pipe)) {
		fprintf(stderr, "firstpass: sandbox: %s\n",
		        fp_pipe_host_error(x->pipe));
		rc = fp_pipe_setup_error_is_config(x->pipe) ? FP_EXIT_USAGE :
		     FP_EXIT_HOST;
	}
	for (size_t i = 0; i < fp_pipe_count(x->pipe); i++)
		counts[fp_pipe_get(x->pipe, i)->verdict]++;
	memset(&info, 0, sizeof info);
	info.command = x->o.eval ? "eval" : "run";
	info.goal = x->o.eval ? NULL : x->goal;
	info.generator = x->gen ? fp_gen_describe(x->gen) : NULL;
	info.policy = x->pol.name;
	info.started_epoch_ms = x->epoch0_ms;
	info.wall_ms = fp_now_ms() - x->t0_ms;
	info.rounds = x->rounds;
	info.nrounds = (size_t)x->nrounds;
	info.interrupted = x->signo ? sigabbrev_np(x->signo) : NULL;
	if (fp_results_write(x->out, &info, x->pipe, &err) < 0) {
		/* Lost results must not look like success. */
		fprintf(stderr, "firstpass: cannot write the results: %s\n", err.msg);
		rc = FP_EXIT_USAGE;
		x->results_lost = true;
	}
	if (!x->results_lost && fp_report_write(x->out, &err) < 0)
		fprintf(stderr, "firstpass: cannot write the report: %s\n", err.msg);
	if (x->signo) {
		fprintf(stderr, "firstpass: interrupted by SIG%s: every sandbox was "
		        "killed%s\n", sigabbrev_np(x->signo),
		        x->results_lost ? "" : ", results written");
		rc = 128 + x->signo;
	}
	f = cJSON_CreateObject();
	if (w)
		cJSON_AddStringToObject(f, "winner", w->id);
	else
		cJSON_AddNullToObject(f, "winner");
	cJSON_AddNumberToObject(f, "wall_ms", (double)info.wall_ms);
	cJSON_AddNumberToObject(f, "exit_code", rc);
	vc = cJSON_AddObjectToObject(f, "verdicts");
	for (int v = FP_V_PASSED; v < FP_V_COUNT; v++)
		cJSON_AddNumberToObject(vc, fp_verdict_name((enum fp_verdict)v),
		                        counts[v]);
	fp_events_emit(x->ev, "run_finished", f);
	draw(x);
	if (human(x))
		print_summary(x, counts);
	return rc;
}

static void cleanup(struct run_ctx *x)
{
	if (x->loop)
		fp_timer_cancel(x->loop, x->redraw_t);
	fp_gen_close(x->gen);
	fp_pipe_free(x->pipe);
	fp_events_close(x->ev);
	fp_loop_free(x->loop);
	if (x->sig_fd > 0)
		close(x->sig_fd);
	if (x->pol_loaded)
		fp_policy_free(&x->pol);
	free(x->goal);
}

static int run_common(int argc, char **argv, bool eval)
{
	struct run_ctx *x = fp_xcalloc(1, sizeof *x);
	int rc, first;

	x->o.eval = eval;
	if ((rc = parse_opts(argc, argv, &x->o)) >= 0)
		goto out;
	first = optind;
	if ((rc = setup(x)) >= 0)
		goto out;
	if (watch_signals(x) < 0) {
		fprintf(stderr, "firstpass: cannot watch signals: %s\n", strerror(errno));
		rc = FP_EXIT_HOST;
		goto out;
	}
	if (eval) {
		for (int i = first; i < argc; i++)
			eval_add(x, argv[i], i - first + 1);
		x->nrounds = 1;
		x->rounds[0].round = 1;
		x->rounds[0].requested = argc - first;
	} else {
		start_round(x);
	}
	while (!x->finished) {
		tick(x);
		if (x->finished)
			break;
		if (fp_loop_run_once(x->loop, 200) < 0) {
			fprintf(stderr, "firstpass: event loop: %s\n",
			        strerror(errno));
			fp_pipe_cancel_all(x->pipe, "internal error");
			break;
		}
	}
	rc = finish(x);
out:
	cleanup(x);
	free(x);
	return rc;
}

int fp_cmd_run(int argc, char **argv)
{
	return run_common(argc, argv, false);
}

int fp_cmd_eval(int argc, char **argv)
{
	return run_common(argc, argv, true);
}
