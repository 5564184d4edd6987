/* test_gen.c - generators against real processes: a local OpenAI-compatible
 * HTTP server (tests/openai_server.py on 127.0.0.1), real /bin/sh commands
 * and replay fixtures. Labelled integration as well as unit (it starts a
 * server), see tests/integration/tests.cmake.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gen.h"
#include "loop.h"
#include "util.h"

#define KEY "sk-test-firstpass-0123456789abcdef"
#define MARKER "FEEDBACK-MARKER-7f3a"
#define PY "/usr/bin/python3"

static pid_t server_pid;
static char tmpdir[64];
static char log_path[128];
static char base[64];
static char *pass_text;

struct result {
	int called;
	int ok;
	int index;
	char *text;
	char errmsg[4096];
};

static void on_done(void *arg, int index, int ok, char *text,
                    const char *errmsg)
{
	struct result *r = arg;

	r->called++;
	r->ok = ok;
	r->index = index;
	free(r->text);
	r->text = text;
	snprintf(r->errmsg, sizeof(r->errmsg), "%s", errmsg ? errmsg : "");
	/* The key must never reach an error message. */
	assert_null(strstr(r->errmsg, KEY));
}

static int start_server(void **state)
{
	char port_path[300], *port_text = NULL;
	struct fp_err err;
	size_t len;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fp-test-gen-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(log_path, sizeof(log_path), "%s/requests.jsonl", tmpdir);
	snprintf(port_path, sizeof(port_path), "%s/port", tmpdir);
	server_pid = fork();
	if (server_pid == 0) {
		/* The port comes back through a file the server renames into
		 * place; its stdout goes nowhere, so no pipe can break. */
		int nul = open("/dev/null", O_WRONLY);
		if (nul >= 0)
			dup2(nul, 1);
		execl(PY, PY, FP_SOURCE_DIR "/tests/openai_server.py",
		      "--log", log_path, "--max-seconds", "100",
		      "--slow-seconds", "4", "--port-file", port_path,
		      "--require-in-prompt", MARKER,
		      "--pass-candidate", FP_FIXTURES "/gen/pass.json",
		      "--fail-candidate", FP_FIXTURES "/gen/fail.json",
		      (char *)NULL);
		_exit(127);
	}
	/* Up to 30 s: a loaded CI machine starts Python slowly. */
	for (int i = 0; i < 3000 && fp_read_file(port_path, 64, &port_text,
	                                          &len, NULL) < 0; i++) {
		if (waitpid(server_pid, NULL, WNOHANG) == server_pid) {
			server_pid = -1;
			break;
		}
		usleep(10000);
	}
	if (!port_text) {
		fprintf(stderr, "test server did not start\n");
		return -1;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1", atoi(port_text));
	free(port_text);
	setenv("OPENAI_API_KEY", KEY, 1);
	unsetenv("OPENAI_BASE_URL");
	if (fp_read_file(FP_FIXTURES "/gen/pass.json", 1 << 20, &pass_text,
	                 &len, &err) < 0)
		return -1;
	return 0;
}

static int stop_server(void **state)
{
	(void)state;
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	if (fp_remove_tree(tmpdir) < 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(pass_text);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void opts_fast(struct fp_gen_opts *o, const char *model)
{
	fp_gen_opts_default(o);
	o->model = model;
	o->base_url = base;
	o->backoff_ms = 20;
	o->timeout_ms = 10000;
}

/* Runs the loop until |want| callbacks happened or |max_ms| passed. */
static void run_until(struct fp_loop *loop, struct result *r, size_t nr,
                      int want, int max_ms)
{
	uint64_t end = fp_now_ms() + (uint64_t)max_ms;
	int got;
	size_t i;

	do {
		fp_loop_run_once(loop, 50);
		for (got = 0, i = 0; i < nr; i++)
			got += r[i].called;
	} while (got < want && fp_now_ms() < end);
}

/* One request, start to finish. Returns the elapsed time in ms. */
static uint64_t run_one(const char *spec, const struct fp_gen_opts *o,
                        int round, int index, const char *prompt,
                        struct result *r)
{
	struct fp_loop *loop = fp_loop_new();
	struct fp_err err = { "" };
	struct fp_gen *g = fp_gen_open(spec, o, loop, &err);
	uint64_t t0 = fp_now_ms();

	assert_non_null(loop);
	if (!g)
		fail_msg("fp_gen_open(%s): %s", spec, err.msg);
	assert_null(strstr(fp_gen_describe(g), KEY));
	memset(r, 0, sizeof(*r));
	assert_int_equal(fp_gen_request(g, round, index, prompt, on_done, r,
	                                &err), 0);
	/* Never synchronous. */
	assert_int_equal(r->called, 0);
	run_until(loop, r, 1, 1, 30000);
	t0 = fp_now_ms() - t0;
	assert_int_equal(r->called, 1);
	assert_int_equal(r->index, index);
	fp_gen_close(g);
	fp_loop_free(loop);
	return t0;
}

/* The requests the server logged for |model|, as a cJSON array. */
static cJSON *logged(const char *model)
{
	cJSON *arr = cJSON_CreateArray();
	struct fp_err err;
	char *data = NULL, *line, *save = NULL;
	size_t len;

	if (fp_read_file(log_path, 64 << 20, &data, &len, &err) < 0)
		return arr;
	for (line = strtok_r(data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(line);
		cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "body"),
		                               "model");

		if (cJSON_IsString(m) && strcmp(m->valuestring, model) == 0)
			cJSON_AddItemToArray(arr, j);
		else
			cJSON_Delete(j);
	}
	free(data);
	return arr;
}

static int nlogged(const char *model)
{
	cJSON *a = logged(model);
	int n = cJSON_GetArraySize(a);

	cJSON_Delete(a);
	return n;
}

static const char *jstr(const cJSON *j, const char *path1, const char *path2)
{
	const cJSON *x = cJSON_GetObjectItem(j, path1);

	if (path2)
		x = cJSON_GetObjectItem(x, path2);
	return cJSON_IsString(x) ? x->valuestring : "";
}

/* ---- HTTP ------------------------------------------------------------- */

static void test_responses_ok(void **state)
{
	struct fp_gen_opts o;
	struct result r;
	cJSON *reqs, *req;

	(void)state;
	opts_fast(&o, "ok#responses");
	run_one("openai-responses", &o, 1, 2, "build PROMPT-123", &r);
	assert_int_equal(r.ok, 0);
	/* Two output_text parts are concatenated back into the candidate. */
	assert_string_equal(r.text, pass_text);
	reqs = logged("ok#responses");
	assert_int_equal(cJSON_GetArraySize(reqs), 1);
	req = cJSON_GetArrayItem(reqs, 0);
	assert_string_equal(jstr(req, "path", NULL), "/v1/responses");
	assert_string_equal(jstr(req, "headers", "Authorization"),
	                    "Bearer " KEY);
	assert_string_equal(jstr(req, "body", "input"), "build PROMPT-123");
	assert_true(strlen(jstr(req, "body", "instructions")) > 20);
	assert_float_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(req, "body"),
	                   "temperature")->valuedouble, 0.9, 1e-9);
	cJSON_Delete(reqs);
	free(r.text);
}

static void test_responses_toplevel(void **state)
{
	struct fp_gen_opts o;
	struct result r;

	(void)state;
	opts_fast(&o, "toplevel");
	run_one("openai-responses", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.text, pass_text);
	free(r.text);
}

static void test_chat_ok(void **state)
{
	struct fp_gen_opts o;
	struct result r;
	cJSON *reqs, *body, *msgs;

	(void)state;
	opts_fast(&o, "ok#chat");
	o.base_url = NULL;
	/* Base from the environment, trailing slash tolerated. */
	{
		char b[80];

		snprintf(b, sizeof(b), "%s/", base);
		setenv("OPENAI_BASE_URL", b, 1);
	}
	run_one("openai-chat", &o, 3, 1, "chat PROMPT", &r);
	unsetenv("OPENAI_BASE_URL");
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.text, pass_text);
	reqs = logged("ok#chat");
	assert_int_equal(cJSON_GetArraySize(reqs), 1);
	assert_string_equal(jstr(cJSON_GetArrayItem(reqs, 0), "path", NULL),
	                    "/v1/chat/completions");
	assert_string_equal(jstr(cJSON_GetArrayItem(reqs, 0), "headers",
	                         "Authorization"), "Bearer " KEY);
	body = cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, 0), "body");
	msgs = cJSON_GetObjectItem(body, "messages");
	assert_string_equal(jstr(cJSON_GetArrayItem(msgs, 0), "role", NULL),
	                    "system");
	assert_string_equal(jstr(cJSON_GetArrayItem(msgs, 1), "role", NULL),
	                    "user");
	assert_string_equal(jstr(cJSON_GetArrayItem(msgs, 1), "content", NULL),
	                    "chat PROMPT");
	assert_int_equal(cJSON_GetObjectItem(body, "seed")->valueint, 3001);
	assert_float_equal(cJSON_GetObjectItem(body, "temperature")->valuedouble,
	                   0.8, 1e-9);
	cJSON_Delete(reqs);
	free(r.text);
}

static void test_concurrent_round(void **state)
{
	struct fp_loop *loop = fp_loop_new();
	struct fp_gen_opts o;
	struct fp_err err;
	struct fp_gen *g;
	struct result r[3];
	cJSON *reqs;
	uint64_t t0;
	int i;

	(void)state;
	opts_fast(&o, "delay1#conc");
	o.temperature = 1.1;
	g = fp_gen_open("openai-chat", &o, loop, &err);
	assert_non_null(g);
	memset(r, 0, sizeof(r));
	t0 = fp_now_ms();
	for (i = 0; i < 3; i++)
		assert_int_equal(fp_gen_request(g, 1, i, "p", on_done, &r[i],
		                                &err), 0);
	run_until(loop, r, 3, 3, 20000);
	t0 = fp_now_ms() - t0;
	for (i = 0; i < 3; i++) {
		assert_int_equal(r[i].called, 1);
		assert_int_equal(r[i].ok, 0);
		assert_int_equal(r[i].index, i);
		free(r[i].text);
	}
	/* Each reply takes 1 s on the server: in series it would be 3 s. */
	assert_true(t0 < 2500);
	reqs = logged("delay1#conc");
	assert_int_equal(cJSON_GetArraySize(reqs), 3);
	/* Temperatures differ but are capped at 1.2. */
	for (i = 0; i < 3; i++) {
		const cJSON *b = cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, i),
		                                     "body");
		double t = cJSON_GetObjectItem(b, "temperature")->valuedouble;
		int seed = cJSON_GetObjectItem(b, "seed")->valueint;

		assert_true(t >= 1.1 - 1e-9 && t <= 1.2 + 1e-9);
		assert_float_equal(t, seed == 1000 ? 1.1 : 1.2, 1e-9);
	}
	cJSON_Delete(reqs);
	fp_gen_close(g);
	fp_loop_free(loop);
}

static void test_fenced_and_prose_verbatim(void **state)
{
	struct fp_gen_opts o;
	struct result r;

	(void)state;
	opts_fast(&o, "fenced");
	run_one("openai-chat", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, 0);
	assert_true(strncmp(r.text, "Here is the repository:\n```json\n",
	                    32) == 0);
	assert_non_null(strstr(r.text, pass_text));
	free(r.text);
	opts_fast(&o, "prose");
	run_one("openai-responses", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, 0);
	assert_true(strncmp(r.text, "Sure! The repository is {", 25) == 0);
	assert_non_null(strstr(r.text, " Hope this helps."));
	free(r.text);
}

static void test_invalid_json_retried_then_fails(void **state)
{
	struct fp_gen_opts o;
	struct result r;

	(void)state;
	opts_fast(&o, "invalid");
	run_one("openai-responses", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_null(r.text);
	assert_true(strncmp(r.errmsg, "reply is not valid JSON", 23) == 0);
	/* A garbled body is retried twice, not max_retries (4) times. */
	assert_int_equal(nlogged("invalid"), 3);
}

static void test_ratelimit_retry_after(void **state)
{
	struct fp_gen_opts o;
	struct result r;
	uint64_t ms;

	(void)state;
	opts_fast(&o, "ratelimit#1");
	ms = run_one("openai-chat", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.text, pass_text);
	/* backoff_ms is 20: the wait comes from Retry-After: 1. */
	assert_true(ms >= 1000);
	assert_int_equal(nlogged("ratelimit#1"), 2);
	free(r.text);
}

static void test_500_then_ok(void **state)
{
	struct fp_gen_opts o;
	struct result r;

	(void)state;
	opts_fast(&o, "error500-then-ok#1");
	run_one("openai-responses", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.text, pass_text);
	assert_int_equal(nlogged("error500-then-ok#1"), 2);
	free(r.text);
}

static void test_500_retries_exhausted(void **state)
{
	struct fp_gen_opts o;
	struct result r;

	(void)state;
	opts_fast(&o, "error500");
	o.max_retries = 2;
	run_one("openai-chat", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_string_equal(r.errmsg, "http 500: The server had an error "
	                    "(after 3 attempts)");
	assert_int_equal(nlogged("error500"), 3);
}

static void test_slow_times_out(void **state)
{
	struct fp_gen_opts o;
	struct result r;
	uint64_t ms;

	(void)state;
	opts_fast(&o, "slow");
	o.timeout_ms = 500;
	o.max_retries = 0;
	ms = run_one("openai-chat", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_non_null(strstr(r.errmsg, "timeout"));
	assert_true(ms >= 450 && ms < 3000);
}

static void test_truncated_body(void **state)
{
	struct fp_gen_opts o;
	struct result r;

	(void)state;
	opts_fast(&o, "truncated");
	o.max_retries = 1;
	run_one("openai-responses", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_null(r.text);
	assert_true(strncmp(r.errmsg, "transport error: ", 17) == 0);
	assert_non_null(strstr(r.errmsg, "(after 2 attempts)"));
	assert_int_equal(nlogged("truncated"), 2);
}

/* Half a body, then silence: abandoned after stall_ms, not after the
 * (much longer) overall timeout. */
static void test_stalled_body(void **state)
{
	struct fp_gen_opts o;
	struct result r;
	uint64_t t0;

	(void)state;
	opts_fast(&o, "stall");
	o.max_retries = 0;
	o.stall_ms = 500;
	o.timeout_ms = 20000;
	t0 = fp_now_ms();
	run_one("openai-responses", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_non_null(strstr(r.errmsg, "the reply stopped after"));
	assert_true(fp_now_ms() - t0 < 3500); /* the server stalls 4 s */
}

static void test_unauth_no_retry(void **state)
{
	struct fp_gen_opts o;
	struct result r;

	(void)state;
	opts_fast(&o, "unauth");
	run_one("openai-chat", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_string_equal(r.errmsg, "http 401: the API rejected the key "
	                    "(check OPENAI_API_KEY)");
	assert_int_equal(nlogged("unauth"), 1);
}

static void test_notfound_forbidden(void **state)
{
	struct fp_gen_opts o;
	struct result r;
	char want[200];

	(void)state;
	opts_fast(&o, "notfound");
	run_one("openai-responses", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	snprintf(want, sizeof(want), "http 404: no such endpoint or model "
	         "'notfound' at %s", base);
	assert_string_equal(r.errmsg, want);
	assert_int_equal(nlogged("notfound"), 1);
	opts_fast(&o, "forbidden");
	run_one("openai-responses", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_true(strncmp(r.errmsg, "http 403: ", 10) == 0);
	assert_non_null(strstr(r.errmsg, "not allowed to sample"));
	assert_int_equal(nlogged("forbidden"), 1);
}

static void test_badrequest_message(void **state)
{
	struct fp_gen_opts o;
	struct result r;
	const char *p;

	(void)state;
	opts_fast(&o, "badrequest");
	run_one("openai-chat", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_true(strncmp(r.errmsg, "http 400: Invalid value for "
	                    "'temperature': xxx", 45) == 0);
	for (p = r.errmsg; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	/* 200 chars of the API's message plus "...". */
	assert_int_equal(strlen(r.errmsg), strlen("http 400: ") + 200 + 3);
	assert_int_equal(nlogged("badrequest"), 1);
}

static void test_key_scrubbed_from_api_message(void **state)
{
	struct fp_gen_opts o;
	struct result r;

	(void)state;
	opts_fast(&o, "echokey");
	run_one("openai-chat", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	/* on_done already asserted the key is absent. */
	assert_string_equal(r.errmsg, "http 400: bad header: Bearer ***");
}

static void test_reply_cap(void **state)
{
	struct fp_gen_opts o;
	struct result r;

	(void)state;
	opts_fast(&o, "huge");
	o.max_reply_bytes = 4096;
	run_one("openai-chat", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_string_equal(r.errmsg, "reply larger than 4096 bytes");
	assert_int_equal(nlogged("huge"), 1);
}

static void test_open_errors_and_describe(void **state)
{
	struct fp_loop *loop = fp_loop_new();
	struct fp_gen_opts o;
	struct fp_err err = { "" };
	struct fp_gen *g;
	char want[160];

	(void)state;
	opts_fast(&o, "m1");
	g = fp_gen_open("openai-chat", &o, loop, &err);
	assert_non_null(g);
	snprintf(want, sizeof(want), "openai-chat m1 at %s", base);
	assert_string_equal(fp_gen_describe(g), want);
	fp_gen_close(g);

	unsetenv("OPENAI_API_KEY");
	assert_null(fp_gen_open("openai-responses", &o, loop, &err));
	assert_string_equal(err.msg, "OPENAI_API_KEY is not set");
	setenv("OPENAI_API_KEY", KEY, 1);

	assert_null(fp_gen_open("gpt-5", &o, loop, &err));
	assert_non_null(strstr(err.msg, "unknown generator 'gpt-5'"));
	o.base_url = "ftp://x";
	assert_null(fp_gen_open("openai-chat", &o, loop, &err));
	assert_non_null(strstr(err.msg, "bad base url 'ftp://x'"));
	assert_null(fp_gen_open("replay:/nonexistent-dir", &o, loop, &err));
	assert_null(fp_gen_open("command:", &o, loop, &err));
	fp_loop_free(loop);
}

static void test_cancel_all(void **state)
{
	struct fp_loop *loop = fp_loop_new();
	struct fp_gen_opts o;
	struct fp_err err;
	struct fp_gen *g;
	struct result r[2];

	(void)state;
	opts_fast(&o, "delay1#cancel");
	g = fp_gen_open("openai-responses", &o, loop, &err);
	assert_non_null(g);
	memset(r, 0, sizeof(r));
	assert_int_equal(fp_gen_request(g, 1, 0, "p", on_done, &r[0], &err), 0);
	run_until(loop, r, 2, 1, 200);
	fp_gen_cancel_all(g);
	run_until(loop, r, 2, 1, 1500);
	assert_int_equal(r[0].called, 0);
	/* The generator still works after a cancel. */
	assert_int_equal(fp_gen_request(g, 1, 1, "p", on_done, &r[1], &err), 0);
	run_until(loop, r, 2, 1, 5000);
	assert_int_equal(r[1].called, 1);
	assert_int_equal(r[1].ok, 0);
	free(r[1].text);
	/* Closing with a request in flight must not call back either. */
	assert_int_equal(fp_gen_request(g, 1, 2, "p", on_done, &r[0], &err), 0);
	fp_gen_close(g);
	run_until(loop, r, 2, 1, 300);
	assert_int_equal(r[0].called, 0);
	fp_loop_free(loop);
}

static void test_feedback_prompt(void **state)
{
	struct fp_gen_opts o;
	struct result r;
	char *p1 = fp_gen_prompt("Build a notes API", NULL);
	char *p2 = fp_gen_prompt("Build a notes API",
	                         "cand 1: test: " MARKER " 1 failed");
	char *fail_text = NULL;
	size_t len;
	struct fp_err err;

	(void)state;
	assert_non_null(strstr(p1, "Build a notes API"));
	assert_non_null(strstr(p1, "python3 api/main.py"));
	assert_non_null(strstr(p1, "127.0.0.1:8000"));
	assert_non_null(strstr(p1, "python3 -m pytest"));
	assert_null(strstr(p1, "Previous attempts failed:"));
	assert_non_null(strstr(p2, "Previous attempts failed:\ncand 1"));
	assert_int_equal(fp_read_file(FP_FIXTURES "/gen/fail.json", 1 << 20,
	                              &fail_text, &len, &err), 0);
	opts_fast(&o, "feedback");
	run_one("openai-responses", &o, 1, 0, p1, &r);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.text, fail_text);
	free(r.text);
	run_one("openai-chat", &o, 2, 0, p2, &r);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.text, pass_text);
	free(r.text);
	free(fail_text);
	free(p1);
	free(p2);
}

/* ---- command ------------------------------------------------------------ */

static void test_command_echo(void **state)
{
	struct fp_gen_opts o;
	struct result r;
	struct fp_buf big;
	size_t i;

	(void)state;
	fp_gen_opts_default(&o);
	/* 300 KB: more than a pipe buffer, so writes must be nonblocking. */
	fp_buf_init(&big, 1 << 20);
	for (i = 0; i < 30000; i++)
		fp_buf_append(&big, "0123456789", 10);
	run_one("command:cat", &o, 1, 0, big.data, &r);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.text, big.data);
	free(r.text);
	fp_buf_free(&big);
	run_one("command:echo \"$FIRSTPASS_ROUND/$FIRSTPASS_INDEX\"; "
	        "test -n \"$OPENAI_API_KEY\" && echo key-visible", &o, 2, 3,
	        "ignored", &r);
	assert_int_equal(r.ok, 0);
	assert_string_equal(r.text, "2/3\nkey-visible\n");
	free(r.text);
}

static void test_command_fails(void **state)
{
	struct fp_gen_opts o;
	struct result r;

	(void)state;
	fp_gen_opts_default(&o);
	run_one("command:echo partial; echo first >&2; echo oops >&2; exit 3",
	        &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_null(r.text);
	assert_string_equal(r.errmsg, "command exited with status 3: first "
	                    "oops");
	/* Only the last 2 KB of stderr are kept. */
	run_one("command:head -c 5000 /dev/zero | tr '\\0' a >&2; echo END >&2;"
	        " exit 1", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_true(strlen(r.errmsg) < 2048 + 60);
	assert_non_null(strstr(r.errmsg, "aaaEND"));
	fp_gen_opts_default(&o);
	o.max_reply_bytes = 1000;
	run_one("command:yes | head -c 100000", &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_string_equal(r.errmsg, "reply larger than 1000 bytes");
}

static void test_command_timeout_kills_group(void **state)
{
	struct fp_gen_opts o;
	struct result r;
	char marker[160], cmd[400];
	uint64_t ms;

	(void)state;
	fp_gen_opts_default(&o);
	o.timeout_ms = 300;
	snprintf(marker, sizeof(marker), "%s/grandchild-survived", tmpdir);
	/* A background grandchild that would write the marker after 1 s. */
	snprintf(cmd, sizeof(cmd), "command:(sleep 1; touch '%s') & sleep 10",
	         marker);
	ms = run_one(cmd, &o, 1, 0, "p", &r);
	assert_int_equal(r.ok, -1);
	assert_string_equal(r.errmsg, "command timed out after 300 ms");
	assert_true(ms < 1000);
	usleep(1300 * 1000);
	assert_int_not_equal(access(marker, F_OK), 0);
}

/* ---- replay ------------------------------------------------------------- */

static void test_replay_flat(void **state)
{
	struct fp_loop *loop = fp_loop_new();
	struct fp_gen_opts o;
	struct fp_err err;
	struct fp_gen *g;
	struct result r[4];
	int i;

	(void)state;
	fp_gen_opts_default(&o);
	g = fp_gen_open("replay:" FP_FIXTURES "/gen/replay-flat/", &o, loop,
	                &err);
	assert_non_null(g);
	assert_string_equal(fp_gen_describe(g), "replay " FP_FIXTURES
	                    "/gen/replay-flat (3 candidates)");
	memset(r, 0, sizeof(r));
	/* k counts requests across rounds, whatever their index. */
	assert_int_equal(fp_gen_request(g, 1, 0, "p", on_done, &r[0], &err), 0);
	assert_int_equal(fp_gen_request(g, 1, 1, "p", on_done, &r[1], &err), 0);
	assert_int_equal(r[0].called + r[1].called, 0);
	run_until(loop, r, 4, 2, 2000);
	assert_int_equal(fp_gen_request(g, 2, 0, "p", on_done, &r[2], &err), 0);
	assert_int_equal(fp_gen_request(g, 2, 1, "p", on_done, &r[3], &err), 0);
	run_until(loop, r, 4, 4, 2000);
	for (i = 0; i < 4; i++)
		assert_int_equal(r[i].called, 1);
	assert_string_equal(r[0].text, "{\"a.py\": \"first\"}\n");
	assert_string_equal(r[1].text, "Here you go:\n```json\n"
	                    "{\"b.py\": \"second\"}\n```\n");
	assert_int_equal(r[2].ok, 0);
	{
		cJSON *j = cJSON_Parse(r[2].text);

		assert_non_null(j);
		assert_string_equal(jstr(j, "api/main.py", NULL),
		                    "print('third')\n");
		assert_int_equal(cJSON_GetArraySize(j), 1);
		cJSON_Delete(j);
	}
	assert_int_equal(r[3].ok, -1);
	assert_string_equal(r[3].errmsg, "replay: no more saved candidates in "
	                    FP_FIXTURES "/gen/replay-flat");
	for (i = 0; i < 4; i++)
		free(r[i].text);
	fp_gen_close(g);
	fp_loop_free(loop);
}

static void test_replay_rounds(void **state)
{
	struct fp_loop *loop = fp_loop_new();
	struct fp_gen_opts o;
	struct fp_err err;
	struct fp_gen *g;
	struct result r[5];
	const int rounds[5] = { 2, 1, 1, 2, 3 }, idx[5] = { 0, 1, 0, 1, 0 };
	int i;

	(void)state;
	fp_gen_opts_default(&o);
	g = fp_gen_open("replay:" FP_FIXTURES "/gen/replay-rounds", &o, loop,
	                &err);
	assert_non_null(g);
	memset(r, 0, sizeof(r));
	for (i = 0; i < 5; i++)
		assert_int_equal(fp_gen_request(g, rounds[i], idx[i], "p", on_done,
		                                &r[i], &err), 0);
	run_until(loop, r, 5, 5, 2000);
	assert_string_equal(r[0].text, "{\"r.py\": \"round 2 a\"}\n");
	assert_string_equal(r[1].text, "{\"r.py\": \"round 1 b\"}\n");
	assert_string_equal(r[2].text, "{\"r.py\": \"round 1 a\"}\n");
	assert_int_equal(r[3].ok, -1);
	assert_string_equal(r[3].errmsg, "replay: round-2 has only 1 "
	                    "candidates");
	assert_int_equal(r[4].ok, -1);
	assert_non_null(strstr(r[4].errmsg, "no round-3"));
	for (i = 0; i < 5; i++)
		free(r[i].text);
	fp_gen_close(g);
	fp_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_responses_ok),
		cmocka_unit_test(test_responses_toplevel),
		cmocka_unit_test(test_chat_ok),
		cmocka_unit_test(test_concurrent_round),
		cmocka_unit_test(test_fenced_and_prose_verbatim),
		cmocka_unit_test(test_invalid_json_retried_then_fails),
		cmocka_unit_test(test_ratelimit_retry_after),
		cmocka_unit_test(test_500_then_ok),
		cmocka_unit_test(test_500_retries_exhausted),
		cmocka_unit_test(test_slow_times_out),
		cmocka_unit_test(test_truncated_body),
		cmocka_unit_test(test_stalled_body),
		cmocka_unit_test(test_unauth_no_retry),
		cmocka_unit_test(test_notfound_forbidden),
		cmocka_unit_test(test_badrequest_message),
		cmocka_unit_test(test_key_scrubbed_from_api_message),
		cmocka_unit_test(test_reply_cap),
		cmocka_unit_test(test_open_errors_and_describe),
		cmocka_unit_test(test_cancel_all),
		cmocka_unit_test(test_feedback_prompt),
		cmocka_unit_test(test_command_echo),
		cmocka_unit_test(test_command_fails),
		cmocka_unit_test(test_command_timeout_kills_group),
		cmocka_unit_test(test_replay_flat),
		cmocka_unit_test(test_replay_rounds),
	};

	return cmocka_run_group_tests(tests, start_server, stop_server);
}
