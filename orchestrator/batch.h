/* batch.h - `firstpass batch` (many tasks, resumable, shardable, Slurm)
 * and `firstpass merge` (shard outputs -> one result).
 *
 * Files under a batch's --out DIR:
 *   batch-meta.json  {"version", "tasks_file", "tasks_sha256", "shard_k",
 *                    "shard_n", "tasks_total", "shard_tasks"}: written once;
 *                    a restart with another tasks file or shard is refused,
 *                    and merge checks shards against each other with it.
 *   batch.jsonl      one line per FINISHED task (a task whose run or eval
 *                    produced results.json), appended with one write() of a
 *                    complete line and fsync'ed: {"id", "line",
 *                    "line_sha256", "command", "pass", "winner",
 *                    "candidates", "wall_ms", "time_to_first_pass_ms",
 *                    "exit_code", "generator", "policy", "verdicts",
 *                    "finished", "dir"}. A line torn by a crash (no final
 *                    '\n') is cut off on restart.
 *   tasks/<id>/      the task's own `run`/`eval` output (results.json ...)
 *   logs/<id>.log    the task process's stdout and stderr
 *   results.json     the batch summary (rows of batch.jsonl, pass rates)
 *   report.html      the same as a page
 */
#ifndef FP_BATCH_H
#define FP_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "util.h"

#define FP_TASK_ID_MAX 64
#define FP_TASK_LINE_MAX (1u << 20) /* bytes of one task line */

/* One task line, parsed and checked. */
struct fp_task {
	char id[FP_TASK_ID_MAX + 1];
	int line;               /* 1-based line number in the tasks file */
	char line_sha256[65];   /* of the line's bytes without "\r\n" */
	bool eval;              /* a "compare" task (else a "run" task) */
	cJSON *json;            /* owned: the line's object */
};

/* Parses line |lineno| (1-based) of a tasks file. On error, err holds the
 * reason without the file:line prefix (e.g. "unknown field 'goall'") and
 * *t is left empty. Does not check that ids are unique. */
int fp_task_parse(const char *line, size_t len, int lineno,
                  struct fp_task *t, struct fp_err *err);
void fp_task_free(struct fp_task *t); /* NULL ok; frees t->json only */

/* Whether the task on 0-based line index |i| belongs to shard k of n
 * (1 <= k <= n): i % n == k - 1, so shards are disjoint and covering. */
bool fp_shard_has(int i, int k, int n);

/* Writes <out>/results.json (the batch summary) and <out>/report.html from
 * |rows| (batch.jsonl records; not taken). |head| holds the top-level
 * fields to write (command, tasks file, shards ...; not taken). */
int fp_batch_write_summary(const char *out, const cJSON *head,
                           const cJSON *rows, int tasks_total,
                           struct fp_err *err);

#endif
