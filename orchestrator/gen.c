/* gen.c - generator front end: spec parsing, asynchronous completion queue,
 * prompt text.
 *
 * Every backend reports a finished request through fp_gen_finish(). We do
 * not call the user's callback there: the backend may be deep inside a curl
 * or epoll callback and the user may close the generator from its callback.
 * Instead the completion is queued and delivered from a 0 ms loop timer,
 * with nothing of ours on the stack after the callback returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"

struct fp_gen_done {
	struct fp_gen_done *next;
	struct fp_gen *g;
	struct fp_timer *timer;
	fp_gen_done_cb *cb;
	void *arg;
	int index;
	char *text;   /* owned until delivered */
	char *errmsg; /* owned */
};

struct fp_gen {
	const struct fp_gen_backend *be;
	void *impl;
	char *describe;           /* owned */
	struct fp_loop *loop;
	struct fp_gen_done *done; /* queued completions, owned */
};

void fp_gen_opts_default(struct fp_gen_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->model = "gpt-4.1-mini";
	o->base_url = NULL;
	o->timeout_ms = 120000;
	o->connect_timeout_ms = 10000;
	o->stall_ms = 30000;
	o->max_retries = 4;
	o->backoff_ms = 1000;
	o->max_backoff_ms = 60000;
	o->temperature = 0.7;
	o->max_reply_bytes = 16u << 20;
	o->system_prompt = NULL;
}

static const struct fp_gen_backend *const backends[] = {
	&fp_gen_openai_responses, &fp_gen_openai_chat, &fp_gen_command,
	&fp_gen_replay,
};

/* Matches "name" or "name:ARG"; returns ARG ("" for none) or NULL. */
static const char *spec_match(const char *spec, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(spec, name, n) != 0)
		return NULL;
	if (spec[n] == '\0')
		return spec + n;
	return spec[n] == ':' ? spec + n + 1 : NULL;
}

struct fp_gen *fp_gen_open(const char *spec, const struct fp_gen_opts *opts,
                           struct fp_loop *loop, struct fp_err *err)
{
	struct fp_gen_opts defaults;
	struct fp_gen *g;
	const char *arg = NULL;
	size_t i;

	if (!opts) {
		fp_gen_opts_default(&defaults);
		opts = &defaults;
	}
	g = fp_xcalloc(1, sizeof(*g));
	g->loop = loop;
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		arg = spec_match(spec, backends[i]->name);
		if (arg) {
			g->be = backends[i];
			break;
		}
	}
	if (!g->be) {
		fp_errf(err, "unknown generator '%s' (expected openai-responses, "
		        "openai-chat, command:CMD or replay:DIR)", spec);
		free(g);
		return NULL;
	}
	g->impl = g->be->open(g, *arg ? arg : NULL, opts, loop, &g->describe,
	                      err);
	if (!g->impl) {
		free(g->describe);
		free(g);
		return NULL;
	}
	return g;
}

static void done_free(struct fp_gen_done *d)
{
	free(d->text);
	free(d->errmsg);
	free(d);
}

static void drop_queued(struct fp_gen *g)
{
	struct fp_gen_done *d;

	while ((d = g->done)) {
		g->done = d->next;
		fp_timer_cancel(g->loop, d->timer);
		done_free(d);
	}
}

void fp_gen_close(struct fp_gen *g)
{
	if (!g)
		return;
	drop_queued(g);
	g->be->close(g->impl);
	free(g->describe);
	free(g);
}

void fp_gen_cancel_all(struct fp_gen *g)
{
	if (!g)
		return;
	g->be->cancel_all(g->impl);
	drop_queued(g);
}

int fp_gen_request(struct fp_gen *g, int round, int index, const char *prompt,
                   fp_gen_done_cb *cb, void *arg, struct fp_err *err)
{
	if (round < 1 || index < 0)
		return fp_errf(err, "bad request round %d index %d", round, index);
	if (!prompt)
		prompt = "";
	return g->be->request(g->impl, round, index, prompt, cb, arg, err);
}

const char *fp_gen_describe(const struct fp_gen *g)
{
	return g->describe ? g->describe : g->be->name;
}

static void deliver(void *p)
{
	struct fp_gen_done *d = p, **pp;
	fp_gen_done_cb *cb = d->cb;
	void *arg = d->arg;
	int index = d->index;
	char *text = d->text;
	char errmsg[2600];

	for (pp = &d->g->done; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	snprintf(errmsg, sizeof(errmsg), "%s", d->errmsg ? d->errmsg : "");
	d->text = NULL;
	done_free(d);
	/* Nothing of the generator is touched after this call. */
	if (text)
		cb(arg, index, 0, text, NULL);
	else
		cb(arg, index, -1, NULL, errmsg);
}

void fp_gen_finish(struct fp_gen *g, fp_gen_done_cb *cb, void *arg,
                   int index, char *text, const char *errmsg)
{
	struct fp_gen_done *d = fp_xcalloc(1, sizeof(*d)), **pp;

	d->g = g;
	d->cb = cb;
	d->arg = arg;
	d->index = index;
	d->text = text;
	if (!text)
		d->errmsg = fp_strdup(errmsg ? errmsg : "unknown error");
	/* Append so completions are delivered in the order they finished. */
	for (pp = &g->done; *pp; pp = &(*pp)->next)
		;
	*pp = d;
	d->timer = fp_loop_timer(g->loop, 0, deliver, d);
}

void fp_gen_clean_text(const char *s, size_t max_chars, char *out,
                       size_t cap)
{
	size_t n = 0, i;

	if (cap == 0)
		return;
	while (*s && (unsigned char)*s <= ' ')
		s++;
	for (i = 0; s[i] && n + 1 < cap && i < max_chars; i++) {
		unsigned char c = (unsigned char)s[i];
		out[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	if (s[i] && n + 4 < cap) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* ------------------------------------------------------------------ */
/* Prompt text: the only place that tells the model what to produce.   */

static const char system_prompt[] =
	"You are a careful senior Python engineer. You write complete, "
	"working, tested repositories and you reply with a single JSON "
	"object and nothing else.";

const char *fp_gen_system_prompt(void)
{
	return system_prompt;
}

static const char output_rules[] =
	"Output format (strict):\n"
	"- Reply with ONLY a JSON object mapping relative file paths to file "
	"contents, for example {\"api/main.py\": \"...\", "
	"\"tests/test_api.py\": \"...\"}. No prose, no Markdown fences, no "
	"comments outside the JSON.\n"
	"- Paths are relative (no leading '/', no '..'), use '/' as "
	"separator; every value is the full text of that file.\n"
	"- The app must run with `python3 api/main.py` and listen on "
	"127.0.0.1:8000 (start uvicorn from the `if __name__ == "
	"\"__main__\":` block).\n"
	"- Tests run with `python3 -m pytest` from the repository root and "
	"must pass; include the tests and any __init__.py or conftest.py "
	"they need.\n"
	"- Only these libraries are available: fastapi, uvicorn, httpx, "
	"pytest, pydantic v1 (not v2), sqlite3 and the Python standard "
	"library. Nothing can be installed and there is no network access "
	"except 127.0.0.1.\n"
	"- Store data under the repository directory (e.g. a sqlite file), "
	"never in absolute paths.\n";

char *fp_gen_prompt(const char *goal, const char *feedback)
{
	struct fp_buf b;

	fp_buf_init(&b, (size_t)-1);
	fp_buf_printf(&b, "Goal:\n%s\n\n%s", goal ? goal : "", output_rules);
	if (feedback && *feedback)
		fp_buf_printf(&b, "\nPrevious attempts failed:\n%s\n\n"
		              "Fix these problems in a new, complete "
		              "repository (same JSON format).\n", feedback);
	return fp_buf_steal(&b);
}
