/* pipeline.h - the per-candidate pipeline and its scheduler.
 *
 * A candidate goes validate -> materialize -> start -> probe -> test ->
 * verdict, each step driven by the single event loop. The scheduler runs at
 * most |jobs| boxes at once, queues the rest, tests identical file maps once
 * and, in first-pass mode, cancels every other candidate the moment one
 * passes.
 */
#ifndef FP_PIPELINE_H
#define FP_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "candidate.h"
#include "junit.h"
#include "loop.h"
#include "policy.h"

enum fp_verdict {
	FP_V_NONE = 0, /* not decided yet */
	FP_V_PASSED,
	FP_V_FAILED,
	FP_V_ERROR,
	FP_V_TIMEOUT,
	FP_V_INVALID,
	FP_V_CANCELLED,
	FP_V_COUNT,
};
const char *fp_verdict_name(enum fp_verdict v);

enum fp_phase {
	FP_PH_VALIDATE = 0,
	FP_PH_START,
	FP_PH_PROBE,
	FP_PH_TEST,
	FP_PH_COUNT,
	FP_PH_QUEUED = FP_PH_COUNT, /* only as a display state */
	FP_PH_DONE,
};
const char *fp_phase_name(enum fp_phase ph);

/* One phase's record for meta.json; times relative to the run's start. */
struct fp_phase_rec {
	bool ran;
	uint64_t started_ms;
	uint64_t wall_ms;
	bool has_status;  /* a process ran: exit_code/signal are meaningful */
	int exit_code;    /* -1 when killed by a signal */
	int signal;       /* 0 when it exited normally */
};

struct fp_resources {
	uint64_t cpu_ms;
	uint64_t max_rss_kb;
	bool oom_killed;
	bool wall_limit_hit;
	bool cpu_limit_hit;
	bool pids_limit_hit;
	bool output_truncated;
};

struct fp_cand_rt; /* private runtime state (box, pipes, timers) */

struct fp_cand {
	char *id;             /* owned: "r1-c3" or a sanitised basename */
	int round, index;
	char sha256[65];      /* empty when invalid */
	char *dir;            /* owned: <out>/candidates/<id> */
	struct fp_filemap files;
	enum fp_phase phase;  /* current phase, FP_PH_DONE at the verdict */
	enum fp_verdict verdict;
	char reason[512];
	struct fp_phase_rec ph[FP_PH_COUNT];
	struct fp_test_counts tests;
	struct fp_resources res;
	char *missing_module; /* owned or NULL: from ModuleNotFoundError */
	char *feedback;       /* owned or NULL: summary for the next round */
	int dup_of;           /* index of the original in the pipe, or -1 */
	uint64_t added_ms;    /* relative to the run's start */
	uint64_t done_ms;
	struct fp_cand_rt *rt;
};

struct fp_pipe_opts {
	const struct fp_policy *policy; /* not owned; outlives the pipe */
	const char *out_dir;   /* candidates/<id>/ are created below it */
	const char *start_cmd; /* NULL: "<python> api/main.py" */
	const char *test_cmd;  /* NULL: pytest with JUnit XML */
	unsigned port;         /* default 8000 */
	const char *probe;     /* "GET /notes" or NULL for no probe */
	int jobs;              /* boxes at once, >= 1 */
	bool first_pass;       /* cancel everything else on the first pass */
	bool repair;           /* feedback carries the failed files */
	uint64_t t0_ms;        /* fp_now_ms() at the run's start */
};

/* Called on every phase change and verdict (c->verdict != FP_V_NONE). The
 * callee must not add candidates or free the pipe from inside. */
typedef void fp_pipe_cb(void *arg, const struct fp_cand *c);

struct fp_pipe;

/* Copies |opts| (strings are borrowed and must outlive the pipe). */
struct fp_pipe *fp_pipe_new(struct fp_loop *loop,
                            const struct fp_pipe_opts *opts,
                            fp_pipe_cb *cb, void *arg);
void fp_pipe_free(struct fp_pipe *p); /* finishes every box; NULL ok */

/* Adds a candidate from model output (validated here), from an already
 * loaded map (ownership of *map moves in; *map is cleared), or as already
 * invalid with |reason|. Returns the candidate (owned by the pipe). */
struct fp_cand *fp_pipe_add_text(struct fp_pipe *p, const char *id, int round,
                                 int index, const char *text, size_t len);
struct fp_cand *fp_pipe_add_map(struct fp_pipe *p, const char *id, int round,
                                int index, struct fp_filemap *map);
struct fp_cand *fp_pipe_add_verdict(struct fp_pipe *p, const char *id,
                                    int round, int index, enum fp_verdict v,
                                    const char *reason);

/* Cancels everything queued or running with |reason|. */
void fp_pipe_cancel_all(struct fp_pipe *p, const char *reason);

size_t fp_pipe_count(const struct fp_pipe *p);
const struct fp_cand *fp_pipe_get(const struct fp_pipe *p, size_t i);
/* Candidates without a verdict yet. */
size_t fp_pipe_pending(const struct fp_pipe *p);
/* The winner (first passed) or NULL; the cancel latency in ms (time from
 * the winner's verdict until every other box was reaped). */
const struct fp_cand *fp_pipe_winner(const struct fp_pipe *p);
uint64_t fp_pipe_cancel_latency_ms(const struct fp_pipe *p);
/* Non-NULL when a box could not be created because of the host (exit 3). */
const char *fp_pipe_host_error(const struct fp_pipe *p);
/* ... and true when that error is the policy's (exit 2), not the host's. */
bool fp_pipe_setup_error_is_config(const struct fp_pipe *p);

/* Top-level module names importable by the candidates' python (scanned
 * once, cached), comma separated; for missing-module advice. */
const char *fp_available_modules(void);

#endif
