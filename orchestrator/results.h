/* results.h - what a run leaves under --out: results.json, events.jsonl,
 * candidates/<id>/meta.json, winner/. All JSON is versioned and written
 * atomically; log text is never parsed back. */
#ifndef FP_RESULTS_H
#define FP_RESULTS_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "pipeline.h"
#include "util.h"

#define FP_RESULTS_VERSION 1

/* meta.json of one candidate as a cJSON object (caller frees). */
cJSON *fp_results_meta_json(const struct fp_cand *c);
/* Writes <c->dir>/meta.json atomically. */
int fp_results_write_meta(const struct fp_cand *c, struct fp_err *err);

/* The event stream: events.jsonl and, optionally, stdout (--json). */
struct fp_events;
struct fp_events *fp_events_open(const char *path, bool to_stdout,
                                 uint64_t t0_ms, struct fp_err *err);
/* Emits {"t_ms":..., "event": |event|, ...|fields|}; takes |fields| (an
 * object or NULL). */
void fp_events_emit(struct fp_events *ev, const char *event, cJSON *fields);
void fp_events_close(struct fp_events *ev); /* NULL ok */

struct fp_round_info {
	int round;
	uint64_t started_ms;  /* relative to the run's start */
	uint64_t wall_ms;
	int requested;        /* candidates asked of the generator */
	size_t prompt_bytes;
};

struct fp_results_info {
	const char *command;    /* "run" or "eval" */
	const char *interrupted; /* "SIGTERM" ... when a signal ended the run */
	const char *goal;       /* NULL for eval */
	const char *generator;  /* fp_gen_describe text or NULL; never a key */
	const char *policy;     /* policy name */
	uint64_t started_epoch_ms;
	uint64_t wall_ms;
	const struct fp_round_info *rounds;
	size_t nrounds;
};

/* Writes <out_dir>/results.json atomically. */
int fp_results_write(const char *out_dir, const struct fp_results_info *info,
                     const struct fp_pipe *p, struct fp_err *err);

/* Copies the tree |src| to |dst| (created; must not exist): regular files
 * and directories copied, symlinks recreated as links and never followed,
 * anything else skipped. */
int fp_copy_tree(const char *src, const char *dst, struct fp_err *err);

#endif
