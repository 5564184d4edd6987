/* gen_internal.h - what gen.c shares with the generator backends
 * (gen_openai.c, gen_command.c, gen_replay.c). Not a public header.
 *
 * Completion is always asynchronous: a backend that has a result calls
 * fp_gen_finish(), which queues it; gen.c delivers it from a 0 ms loop
 * timer. The user's callback therefore never runs on a backend's stack, so
 * it may freely request, cancel or close from inside the callback.
 */
#ifndef FP_GEN_INTERNAL_H
#define FP_GEN_INTERNAL_H

#include "gen.h"

struct fp_gen_backend {
	const char *name;
	/* |arg|: the part of the spec after "name:" (NULL when none). Returns
	 * the backend's state; *describe gets a malloc'd human name. */
	void *(*open)(struct fp_gen *g, const char *arg,
	              const struct fp_gen_opts *o, struct fp_loop *loop,
	              char **describe, struct fp_err *err);
	int (*request)(void *impl, int round, int index, const char *prompt,
	               fp_gen_done_cb *cb, void *arg, struct fp_err *err);
	/* Drops everything in flight without finishing it. */
	void (*cancel_all)(void *impl);
	void (*close)(void *impl); /* cancels first */
};

extern const struct fp_gen_backend fp_gen_openai_responses;
extern const struct fp_gen_backend fp_gen_openai_chat;
extern const struct fp_gen_backend fp_gen_command;
extern const struct fp_gen_backend fp_gen_replay;

/* Queues the completion of one request. On success |text| (owned, passes to
 * the callback) is non-NULL and |errmsg| NULL; on failure |text| is NULL and
 * |errmsg| is copied. */
void fp_gen_finish(struct fp_gen *g, fp_gen_done_cb *cb, void *arg,
                   int index, char *text, const char *errmsg);

/* Parses a 2xx reply body of the Responses API (chat == 0: the top-level
 * "output_text" string, failing that the "output_text" parts of
 * output[].content[] joined) or of the Chat Completions API (chat != 0:
 * choices[0].message.content). |body| is
 * untrusted, |len| bytes, need not be NUL terminated (NULL means empty).
 * Returns 0 with *text set (owned by the caller); -1 when the body is not
 * JSON (worth a retry: proxies cut replies); -2 for JSON without the
 * expected text. On error *text is NULL and err says why. Exported so the
 * parser can be fuzzed (tests/fuzz/fuzz_openai.c). */
int fp_openai_parse_reply(int chat, const char *body, size_t len, char **text,
                          struct fp_err *err);

/* The built-in system prompt (one place for all prompt text). */
const char *fp_gen_system_prompt(void);

/* Copies |s| into |out| (size |cap|) with control characters replaced by
 * spaces, trimmed, at most |max_chars| bytes, "..." marking a cut. */
void fp_gen_clean_text(const char *s, size_t max_chars, char *out,
                       size_t cap);

#endif
