/* gen.h - generators: where candidates come from.
 *
 *   openai-responses   POST {base}/responses        (libcurl multi)
 *   openai-chat        POST {base}/chat/completions (vLLM, Ollama, llama.cpp)
 *   command:CMD        runs CMD via /bin/sh -c: prompt on stdin, reply on stdout
 *   replay:DIR         saved candidates (JSON files or directories)
 *
 * Requests are asynchronous on the event loop; each finishes exactly once
 * through the callback (unless cancelled). The reply text is untrusted: it
 * goes through fp_cand_from_text like any model output.
 */
#ifndef FP_GEN_H
#define FP_GEN_H

#include <stdbool.h>
#include "loop.h"
#include "util.h"

struct fp_gen_opts {
	const char *model;        /* default "gpt-4.1-mini" */
	const char *base_url;     /* NULL: $OPENAI_BASE_URL, else the public API */
	long timeout_ms;          /* per HTTP attempt, default 120000 */
	long connect_timeout_ms;  /* default 10000 */
	long stall_ms;            /* a reply that stops mid-body for this long
	                             is abandoned (and retried), default 30000 */
	int max_retries;          /* on 429/5xx/transport errors, default 4 */
	long backoff_ms;          /* first backoff, doubles, default 1000 */
	long max_backoff_ms;      /* cap incl. Retry-After, default 60000 */
	double temperature;       /* base temperature, default 0.7 */
	size_t max_reply_bytes;   /* cap on a reply body, default 16 MiB */
	const char *system_prompt;/* NULL: the built-in one */
};
void fp_gen_opts_default(struct fp_gen_opts *o);

/* |ok|: 0 success (text = the model's output text, ownership passes to the
 * callee) or -1 failure (text NULL, errmsg a one-line reason such as
 * "http 401: invalid api key (check OPENAI_API_KEY)"). */
typedef void fp_gen_done_cb(void *arg, int index, int ok, char *text,
                            const char *errmsg);

struct fp_gen;

/* |spec|: "openai-responses", "openai-chat", "command:CMD", "replay:DIR".
 * The API key is read from OPENAI_API_KEY here and never stored anywhere
 * but the request headers. Returns NULL with err set on a bad spec or
 * missing key. */
struct fp_gen *fp_gen_open(const char *spec, const struct fp_gen_opts *opts,
                           struct fp_loop *loop, struct fp_err *err);
void fp_gen_close(struct fp_gen *g); /* cancels what is in flight; NULL ok */

/* Starts request |index| of |round| (1-based) with |prompt|. Candidates of a
 * round get different seeds (index) and temperatures. */
int fp_gen_request(struct fp_gen *g, int round, int index, const char *prompt,
                   fp_gen_done_cb *cb, void *arg, struct fp_err *err);
/* Cancels every request in flight; their callbacks are not called. */
void fp_gen_cancel_all(struct fp_gen *g);
/* Human name for logs ("openai-chat gpt-4.1-mini at http://...", never the
 * key). */
const char *fp_gen_describe(const struct fp_gen *g);

/* Builds the prompt for a round: the goal, the required output format and,
 * for rounds > 1, the feedback text. Caller frees. */
char *fp_gen_prompt(const char *goal, const char *feedback);

#endif
