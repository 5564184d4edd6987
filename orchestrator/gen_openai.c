/* gen_openai.c - OpenAI-compatible HTTP generators ("openai-responses",
 * "openai-chat") on libcurl's multi interface, driven by the fp_loop.
 *
 * Theory of operation: one CURLM per generator. curl tells us which sockets
 * to watch (CURLMOPT_SOCKETFUNCTION -> fp_loop_watch/unwatch) and when to
 * wake it (CURLMOPT_TIMERFUNCTION -> one fp_loop timer); on either event we
 * call curl_multi_socket_action and then drain curl_multi_info_read for
 * finished transfers. Every request is one easy handle, so all candidates of
 * a round are in flight at once. A failed attempt that may succeed later
 * (429, 5xx, transport error, garbled JSON) is retried by re-adding the same
 * easy handle from an fp_loop timer (exponential backoff, Retry-After
 * honoured, both capped): nothing ever sleeps.
 *
 * The API key lives in exactly two places: oa->key and the request's
 * header list. Both are wiped before being freed; verbose mode is never
 * enabled, redirects are never followed (they could carry the header to
 * another host), and API error texts are scrubbed of the key before they
 * reach an error message.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include "curl_dl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "gen_internal.h"

#define OA_DEFAULT_BASE "https://api.openai.com/v1"
#define OA_MAX_BAD_JSON 2   /* garbled bodies retried at most this often */
#define OA_API_MSG_CHARS 200

struct oa_req;

struct oa {
	struct fp_gen *g;
	struct fp_loop *loop;
	CURLM *multi;
	struct fp_timer *curl_timer;
	struct fp_timer *stall_timer;
	bool chat;
	char *key;     /* owned, wiped on close */
	char *base;    /* owned, without trailing '/' */
	char *url;     /* owned, base + endpoint */
	char *model;   /* owned */
	char *system;  /* owned */
	struct fp_gen_opts o; /* numbers only; strings are the copies above */
	struct oa_req *reqs;  /* in flight or waiting for a retry, owned */
};

struct oa_req {
	struct oa_req *next;
	struct oa *oa;
	int index;
	fp_gen_done_cb *cb;
	void *arg;
	char *body;               /* owned request JSON */
	CURL *easy;               /* owned */
	struct curl_slist *hdrs;  /* owned, holds the key: wiped on free */
	struct fp_buf resp;       /* capped at max_reply_bytes */
	bool too_big;
	bool active;              /* easy handle is in the multi */
	int attempt;              /* retries made so far */
	int bad_json;             /* invalid JSON replies so far */
	struct fp_timer *retry_timer;
	char curl_err[CURL_ERROR_SIZE];
	curl_off_t got;           /* body bytes received so far */
	uint64_t got_ms;          /* when the last of them arrived */
	bool stalled;             /* aborted: the body stopped mid-way */
};

/* A reply that started and then stopped (opts.stall_ms): a server or
 * proxy that sent part of the body and hangs holding the connection. The
 * overall timeout would wait for the whole generation time; once bytes
 * flow, a long pause means the rest is not coming. (Before the first byte
 * a model may think for minutes: only the overall timeout applies then.) */

/* ---- request life cycle ------------------------------------------------ */

static void arm_stall_check(struct oa *oa);

static void wipe_slist(struct curl_slist *s)
{
	struct curl_slist *p;

	for (p = s; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(s);
}

static void req_free(struct oa_req *r)
{
	struct oa_req **pp;

	for (pp = &r->oa->reqs; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	if (r->active)
		curl_multi_remove_handle(r->oa->multi, r->easy);
	fp_timer_cancel(r->oa->loop, r->retry_timer);
	if (r->easy)
		curl_easy_cleanup(r->easy);
	wipe_slist(r->hdrs);
	fp_buf_free(&r->resp);
	free(r->body);
	free(r);
}

static void req_finish(struct oa_req *r, char *text, const char *errmsg)
{
	fp_gen_finish(r->oa->g, r->cb, r->arg, r->index, text, errmsg);
	req_free(r);
}

/* Replaces every occurrence of the key in |s| by "***". Short keys are not
 * scrubbed: they would mangle ordinary words and are not secrets anyway. */
static void scrub_key(char *s, const char *key)
{
	size_t klen = key ? strlen(key) : 0;
	char *p;

	if (klen < 6)
		return;
	while ((p = strstr(s, key))) {
		memset(p, '*', 3);
		memmove(p + 3, p + klen, strlen(p + klen) + 1);
	}
}

/* The API's own explanation: error.message from a JSON error body, else the
 * start of the body. Cleaned, truncated, key-free. */
static void api_message(const struct oa_req *r, char *out, size_t cap)
{
	const char *body = r->resp.data ? r->resp.data : "";
	cJSON *root = cJSON_ParseWithLength(body, r->resp.len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");

	if (cJSON_IsString(m))
		fp_gen_clean_text(m->valuestring, OA_API_MSG_CHARS, out, cap);
	else if (cJSON_IsString(e))
		fp_gen_clean_text(e->valuestring, OA_API_MSG_CHARS, out, cap);
	else
		fp_gen_clean_text(body, OA_API_MSG_CHARS, out, cap);
	cJSON_Delete(root);
	scrub_key(out, r->oa->key);
	if (!*out)
		snprintf(out, cap, "(empty body)");
}

/* ---- reply parsing ----------------------------------------------------- */

static char *responses_text(const cJSON *root)
{
	const cJSON *ot = cJSON_GetObjectItemCaseSensitive(root, "output_text");
	const cJSON *item, *c;
	struct fp_buf b;
	bool found = false;

	if (cJSON_IsString(ot))
		return fp_strdup(ot->valuestring);
	fp_buf_init(&b, (size_t)-1);
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "output")) {
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(item, "content")) {
			const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
			const cJSON *text = cJSON_GetObjectItemCaseSensitive(c, "text");

			if (!cJSON_IsString(type) || !cJSON_IsString(text) ||
			    strcmp(type->valuestring, "output_text") != 0)
				continue;
			fp_buf_printf(&b, "%s", text->valuestring);
			found = true;
		}
	}
	if (!found) {
		fp_buf_free(&b);
		return NULL;
	}
	return b.data ? fp_buf_steal(&b) : fp_strdup("");
}

static char *chat_text(const cJSON *root)
{
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(ch, 0), "message");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");

	return cJSON_IsString(content) ? fp_strdup(content->valuestring) : NULL;
}

/* See gen_internal.h. |body| need not be NUL terminated: cJSON is told
 * the length and never reads past it. */
int fp_openai_parse_reply(int chat, const char *body, size_t len, char **text,
                          struct fp_err *err)
{
	const char *end = NULL;
	cJSON *root;

	*text = NULL;
	if (!body)
		body = "";
	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (!root) {
		size_t at = end && end >= body ? (size_t)(end - body) : 0;

		fp_errf(err, "reply is not valid JSON: parse error near byte %zu "
		        "of %zu", at, len);
		return -1;
	}
	*text = chat ? chat_text(root) : responses_text(root);
	cJSON_Delete(root);
	if (*text)
		return 0;
	fp_errf(err, "reply has no %s", chat ? "choices[0].message.content" :
	                                       "output_text content");
	return -2;
}

/* ---- attempts and retries ---------------------------------------------- */

static void on_retry(void *arg)
{
	struct oa_req *r = arg;

	r->retry_timer = NULL;
	fp_buf_reset(&r->resp);
	r->too_big = false;
	r->stalled = false;
	r->curl_err[0] = '\0';
	if (curl_multi_add_handle(r->oa->multi, r->easy) != CURLM_OK) {
		req_finish(r, NULL, "cannot restart the HTTP transfer");
		return;
	}
	r->active = true;
	r->got = 0;
	arm_stall_check(r->oa);
}

static long retry_delay_ms(const struct oa_req *r)
{
	const struct fp_gen_opts *o = &r->oa->o;
	curl_off_t after_s = 0;
	long ms = o->backoff_ms;
	int i;

	for (i = 0; i < r->attempt && ms < o->max_backoff_ms; i++)
		ms *= 2;
	if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &after_s) ==
	    CURLE_OK && after_s > 0)
		ms = after_s > o->max_backoff_ms / 1000 + 1 ?
		     o->max_backoff_ms : (long)after_s * 1000;
	return ms > o->max_backoff_ms ? o->max_backoff_ms : ms;
}

/* Classifies a non-2xx status. Returns true when worth retrying. */
static bool http_error(const struct oa_req *r, long status, char *msg,
                       size_t cap)
{
	const struct oa *oa = r->oa;
	char api[OA_API_MSG_CHARS + 8];

	if (status == 401) {
		snprintf(msg, cap, "http 401: the API rejected the key "
		         "(check OPENAI_API_KEY)");
		return false;
	}
	if (status == 404) {
		snprintf(msg, cap, "http 404: no such endpoint or model '%s' at "
		         "%s", oa->model, oa->base);
		return false;
	}
	api_message(r, api, sizeof(api));
	if (status == 403)
		snprintf(msg, cap, "http 403: access denied for model '%s' at "
		         "%s: %s", oa->model, oa->base, api);
	else
		snprintf(msg, cap, "http %ld: %s", status, api);
	/* 408/409 are what the API itself documents as worth retrying. */
	return status == 408 || status == 409 || status == 429 ||
	       (status >= 500 && status <= 599);
}

static void attempt_done(struct oa_req *r, CURLcode rc)
{
	const struct fp_gen_opts *o = &r->oa->o;
	char msg[FP_ERR_MAX], final[FP_ERR_MAX + 40];
	char *text = NULL;
	bool retry = false;
	long status = 0;

	if (r->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(msg, sizeof(msg), "reply larger than %zu bytes",
		         o->max_reply_bytes);
	} else if (rc == CURLE_ABORTED_BY_CALLBACK && r->stalled) {
		snprintf(msg, sizeof(msg), "transport error: the reply stopped "
		         "after %lld bytes (nothing for %ld ms)", (long long)r->got,
		         o->stall_ms);
		retry = true;
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(msg, sizeof(msg), "timeout: no complete reply within "
		         "%ld ms", o->timeout_ms);
		retry = true;
	} else if (rc != CURLE_OK) {
		snprintf(msg, sizeof(msg), "transport error: %s",
		         r->curl_err[0] ? r->curl_err : curl_easy_strerror(rc));
		retry = true;
	} else {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status <= 299) {
			struct fp_err perr;
			int pr = fp_openai_parse_reply(r->oa->chat, r->resp.data,
			                               r->resp.len, &text, &perr);

			if (pr < 0)
				snprintf(msg, sizeof(msg), "%s", perr.msg);
			retry = pr == -1 && r->bad_json++ < OA_MAX_BAD_JSON;
		} else {
			retry = http_error(r, status, msg, sizeof(msg));
		}
	}
	if (text) {
		req_finish(r, text, NULL);
		return;
	}
	scrub_key(msg, r->oa->key);
	if (retry && r->attempt < o->max_retries) {
		long delay_ms = retry_delay_ms(r);

		r->attempt++;
		r->retry_timer = fp_loop_timer(r->oa->loop, (uint64_t)delay_ms,
		                               on_retry, r);
		return;
	}
	if (r->attempt > 0)
		snprintf(final, sizeof(final), "%s (after %d attempts)", msg,
		         r->attempt + 1);
	else
		snprintf(final, sizeof(final), "%s", msg);
	req_finish(r, NULL, final);
}

/* ---- curl <-> loop glue ------------------------------------------------ */

static void check_done(struct oa *oa)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(oa->multi, &left))) {
		struct oa_req *r = NULL;
		CURLcode rc = m->data.result;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		/* |m| is invalid after this call. */
		curl_multi_remove_handle(oa->multi, r->easy);
		r->active = false;
		attempt_done(r, rc);
	}
}

static void on_socket_ready(void *arg, int fd, uint32_t events)
{
	struct oa *oa = arg;
	int flags = 0, running;

	if (events & (EPOLLIN | EPOLLHUP))
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & EPOLLERR)
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(oa->multi, fd, flags, &running);
	check_done(oa);
}

static int on_curl_socket(CURL *e, curl_socket_t s, int what, void *userp,
                          void *socketp)
{
	struct oa *oa = userp;
	uint32_t events = 0;

	(void)e;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		fp_loop_unwatch(oa->loop, s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	return fp_loop_watch(oa->loop, s, events, on_socket_ready, oa) < 0 ?
	       -1 : 0;
}

static void on_timer(void *arg)
{
	struct oa *oa = arg;
	int running;

	oa->curl_timer = NULL;
	curl_multi_socket_action(oa->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(oa);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct oa *oa = userp;

	(void)multi;
	fp_timer_cancel(oa->loop, oa->curl_timer);
	oa->curl_timer = NULL;
	if (timeout_ms >= 0)
		oa->curl_timer = fp_loop_timer(oa->loop, (uint64_t)timeout_ms,
		                               on_timer, oa);
	return 0;
}

/* Stall check (opts.stall_ms, see struct oa_req): every quarter of
 * stall_ms while requests exist; a transfer that received bytes and then
 * nothing for stall_ms is taken out of the multi handle and finished as a
 * transport error (retried like one). */
static void on_stall_check(void *arg)
{
	struct oa *oa = arg;
	uint64_t now = fp_now_ms();
	struct oa_req *r, *next;

	oa->stall_timer = NULL;
	for (r = oa->reqs; r; r = next) {
		next = r->next; /* attempt_done may free r */
		if (!r->active || r->got == 0 ||
		    now - r->got_ms < (uint64_t)oa->o.stall_ms)
			continue;
		curl_multi_remove_handle(oa->multi, r->easy);
		r->active = false;
		r->stalled = true;
		attempt_done(r, CURLE_ABORTED_BY_CALLBACK);
	}
	arm_stall_check(oa);
}

static void arm_stall_check(struct oa *oa)
{
	if (oa->stall_timer || !oa->reqs || oa->o.stall_ms <= 0)
		return;
	oa->stall_timer = fp_loop_timer(oa->loop, (uint64_t)(oa->o.stall_ms / 4 > 100 ?
	                                oa->o.stall_ms / 4 : 100), on_stall_check, oa);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct oa_req *r = arg;

	if (size * n > 0) {
		r->got += (curl_off_t)(size * n);
		r->got_ms = fp_now_ms();
	}
	if (fp_buf_append(&r->resp, p, size * n) < 0) {
		r->too_big = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	return size * n;
}

/* ---- requests ---------------------------------------------------------- */

static char *build_body(const struct oa *oa, int round, int index,
                        const char *prompt)
{
	double t = oa->o.temperature + 0.1 * index;
	cJSON *root = cJSON_CreateObject(), *msgs, *m;
	char *s;

	/* Spread candidates over temperatures, but not into nonsense. */
	if (t > 1.2)
		t = oa->o.temperature > 1.2 ? oa->o.temperature : 1.2;
	t = (double)(long)(t * 100 + 0.5) / 100;
	cJSON_AddStringToObject(root, "model", oa->model);
	if (oa->chat) {
		msgs = cJSON_AddArrayToObject(root, "messages");
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "system");
		cJSON_AddStringToObject(m, "content", oa->system);
		cJSON_AddItemToArray(msgs, m);
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "user");
		cJSON_AddStringToObject(m, "content", prompt);
		cJSON_AddItemToArray(msgs, m);
		cJSON_AddNumberToObject(root, "temperature", t);
		cJSON_AddNumberToObject(root, "seed", round * 1000 + index);
	} else {
		cJSON_AddStringToObject(root, "input", prompt);
		cJSON_AddStringToObject(root, "instructions", oa->system);
		cJSON_AddNumberToObject(root, "temperature", t);
	}
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!s)
		abort(); /* cJSON fails only without memory */
	return s;
}

static struct curl_slist *build_headers(const struct oa *oa)
{
	struct curl_slist *h = NULL, *n;
	size_t len = strlen(oa->key) + 32;
	char *auth = fp_xmalloc(len);
	const char *fixed[] = { "Content-Type: application/json",
	                        "Accept: application/json",
	                        "Expect:" /* no 100-continue round trip */ };
	size_t i;

	snprintf(auth, len, "Authorization: Bearer %s", oa->key);
	n = curl_slist_append(h, auth);
	explicit_bzero(auth, len);
	free(auth);
	for (i = 0; n && i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		h = n;
		n = curl_slist_append(h, fixed[i]);
	}
	if (!n) {
		wipe_slist(h);
		return NULL;
	}
	return n;
}

static int setup_easy(struct oa_req *r)
{
	const struct oa *oa = r->oa;
	CURL *e = r->easy;
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_URL, oa->url);
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	                        (curl_off_t)strlen(r->body));
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "firstpass/" FP_VERSION);
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, oa->o.timeout_ms);
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	                        oa->o.connect_timeout_ms);
	bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	                        (curl_off_t)oa->o.max_reply_bytes);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_err);
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	return bad ? -1 : 0;
}

static int oa_request(void *impl, int round, int index, const char *prompt,
                      fp_gen_done_cb *cb, void *arg, struct fp_err *err)
{
	struct oa *oa = impl;
	struct oa_req *r = fp_xcalloc(1, sizeof(*r));

	r->oa = oa;
	r->index = index;
	r->cb = cb;
	r->arg = arg;
	r->body = build_body(oa, round, index, prompt);
	fp_buf_init(&r->resp, oa->o.max_reply_bytes);
	r->next = oa->reqs;
	oa->reqs = r;
	r->easy = curl_easy_init();
	r->hdrs = build_headers(oa);
	if (!r->easy || !r->hdrs || setup_easy(r) < 0) {
		req_free(r);
		return fp_errf(err, "cannot set up an HTTP request to %s",
		               oa->base);
	}
	if (curl_multi_add_handle(oa->multi, r->easy) != CURLM_OK) {
		req_free(r);
		return fp_errf(err, "cannot start an HTTP request to %s",
		               oa->base);
	}
	r->active = true;
	arm_stall_check(oa);
	return 0;
}

/* ---- open / close ------------------------------------------------------ */

static void oa_cancel_all(void *impl)
{
	struct oa *oa = impl;
	struct oa_req *r;

	/* Unlink before freeing: req_free() would find r through r->oa, but
	 * the static analyzer cannot tell that r->oa is oa. */
	while ((r = oa->reqs) != NULL) {
		oa->reqs = r->next;
		req_free(r);
	}
}

static void oa_close(void *impl)
{
	struct oa *oa = impl;

	if (!oa)
		return;
	oa_cancel_all(oa);
	if (oa->multi)
		curl_multi_cleanup(oa->multi);
	fp_timer_cancel(oa->loop, oa->curl_timer);
	fp_timer_cancel(oa->loop, oa->stall_timer);
	if (oa->key) {
		explicit_bzero(oa->key, strlen(oa->key));
		free(oa->key);
	}
	free(oa->base);
	free(oa->url);
	free(oa->model);
	free(oa->system);
	free(oa);
}

static int set_base(struct oa *oa, const char *base, struct fp_err *err)
{
	const char *env = getenv("OPENAI_BASE_URL");
	size_t n;

	if (!base || !*base)
		base = env && *env ? env : OA_DEFAULT_BASE;
	if (strncmp(base, "http://", 7) != 0 &&
	    strncmp(base, "https://", 8) != 0)
		return fp_errf(err, "bad base url '%s': expected http:// or "
		               "https://", base);
	oa->base = fp_strdup(base);
	n = strlen(oa->base);
	while (n > 0 && oa->base[n - 1] == '/')
		oa->base[--n] = '\0';
	n += 32;
	oa->url = fp_xmalloc(n);
	snprintf(oa->url, n, "%s/%s", oa->base,
	         oa->chat ? "chat/completions" : "responses");
	return 0;
}

static void *oa_open(struct fp_gen *g, const char *arg, bool chat,
                     const struct fp_gen_opts *o, struct fp_loop *loop,
                     char **describe, struct fp_err *err)
{
	const char *key = getenv("OPENAI_API_KEY");
	struct oa *oa;
	size_t n;

	if (arg) {
		fp_errf(err, "generator '%s' takes no argument (use --model and "
		        "--base-url)", chat ? "openai-chat" : "openai-responses");
		return NULL;
	}
	if (!key || !*key) {
		fp_errf(err, "OPENAI_API_KEY is not set");
		return NULL;
	}
	if (fp_curl_load(err) < 0)
		return NULL;
	oa = fp_xcalloc(1, sizeof(*oa));
	oa->g = g;
	oa->loop = loop;
	oa->chat = chat;
	oa->o = *o;
	oa->model = fp_strdup(o->model && *o->model ? o->model : "gpt-4.1-mini");
	oa->system = fp_strdup(o->system_prompt ? o->system_prompt :
	                       fp_gen_system_prompt());
	oa->key = fp_strdup(key);
	if (set_base(oa, o->base_url, err) < 0)
		goto fail;
	oa->multi = curl_multi_init();
	if (!oa->multi) {
		fp_errf(err, "cannot initialise libcurl");
		goto fail;
	}
	curl_multi_setopt(oa->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(oa->multi, CURLMOPT_SOCKETDATA, oa);
	curl_multi_setopt(oa->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(oa->multi, CURLMOPT_TIMERDATA, oa);
	n = strlen(oa->model) + strlen(oa->base) + 40;
	*describe = fp_xmalloc(n);
	snprintf(*describe, n, "%s %s at %s",
	         chat ? "openai-chat" : "openai-responses", oa->model, oa->base);
	return oa;
fail:
	oa_close(oa);
	return NULL;
}

static void *open_responses(struct fp_gen *g, const char *arg,
                            const struct fp_gen_opts *o,
                            struct fp_loop *loop, char **describe,
                            struct fp_err *err)
{
	return oa_open(g, arg, false, o, loop, describe, err);
}

static void *open_chat(struct fp_gen *g, const char *arg,
                       const struct fp_gen_opts *o, struct fp_loop *loop,
                       char **describe, struct fp_err *err)
{
	return oa_open(g, arg, true, o, loop, describe, err);
}

const struct fp_gen_backend fp_gen_openai_responses = {
	"openai-responses", open_responses, oa_request, oa_cancel_all, oa_close,
};

const struct fp_gen_backend fp_gen_openai_chat = {
	"openai-chat", open_chat, oa_request, oa_cancel_all, oa_close,
};
