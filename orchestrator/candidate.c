/* candidate.c - untrusted candidate repositories.
 *
 * Everything that arrives here was written by a model (or by code a model
 * wrote), so it is treated as hostile:
 *  - extraction is bounded: the reply is capped at FP_CAND_TEXT_MAX bytes and
 *    at most FP_CAND_ATTEMPTS parse attempts are made, so crafted text cannot
 *    make it quadratic;
 *  - every path is checked structurally (fp_cand_check_path) before it is
 *    used, and again just before it is written;
 *  - the file system is only touched relative to directory fds with
 *    O_NOFOLLOW, so a symlink (planted or raced) can never redirect a read or
 *    a write outside the candidate's directory.
 * Error messages are written to be fed back to the model: they name the
 * path or quote the text they complain about.
 *
 * A ".git" path component is allowed in a map (it is just a file name to
 * us), but fp_cand_load_dir skips .git directories, as it skips
 * __pycache__ and .pytest_cache, because those are tool state and not part of
 * the candidate.
 */
#include "candidate.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"

#define FP_CAND_TEXT_MAX ((size_t)16 << 20) /* a reply larger than this is not a repo */
#define FP_CAND_ATTEMPTS 64                 /* parse attempts per reply */
#define FP_CAND_QUOTE_MAX 60                /* bytes of reply quoted in errors */
#define FP_CAND_PATH_QUOTE_MAX 80           /* bytes of a path quoted in errors */
#define FP_CAND_NAME_MAX 255                /* NAME_MAX of every Linux fs */
#define FP_CAND_WALK_PATH_MAX 4096

void fp_cand_limits_default(struct fp_cand_limits *l)
{
	l->max_files = 200;
	l->max_file_bytes = (size_t)1 << 20;
	l->max_total_bytes = (size_t)8 << 20;
	l->max_path_len = 200;
	l->max_depth = 12;
}

void fp_filemap_free(struct fp_filemap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->files[i].path);
		free(m->files[i].data);
	}
	free(m->files);
	m->files = NULL;
	m->n = 0;
}

/* ---- quoting for error messages ---------------------------------------- */

/* Copies at most |max| bytes of src into dst as printable text: control
 * bytes escaped, cut on a UTF-8 boundary, "..." marking a cut. With |json|
 * set, '"' and '\' are escaped too, so a quoted path reads as the JSON key
 * the model wrote. dst needs 4 * max + 4 bytes (6 * max + 4 with |json|:
 * "\u001f"). Returns the end of dst (its terminating NUL). */
static char *quote(char *dst, const char *src, size_t n, size_t max, bool json)
{
	static const char hex[] = "0123456789abcdef";
	bool cut = n > max;
	if (cut) {
		n = max;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	char *o = dst;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		const char *esc = NULL;
		switch (c) {
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '"': esc = json ? "\\\"" : NULL; break;
		case '\\': esc = json ? "\\\\" : NULL; break;
		default: break;
		}
		if (esc) {
			memcpy(o, esc, 2);
			o += 2;
		} else if (c < 0x20 || c == 0x7f) {
			*o++ = '\\';
			*o++ = json ? 'u' : 'x';
			if (json) {
				*o++ = '0';
				*o++ = '0';
			}
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	if (cut) {
		memcpy(o, "...", 3);
		o += 3;
	}
	*o = '\0';
	return o;
}

/* Quoted path for messages: "api/main.py" (with the double quotes). */
struct qpath {
	char s[6 * FP_CAND_PATH_QUOTE_MAX + 16];
};

static const char *qp(struct qpath *q, const char *path, size_t n)
{
	char *end;

	q->s[0] = '"';
	end = quote(q->s + 1, path, n, FP_CAND_PATH_QUOTE_MAX, true);
	end[0] = '"';
	end[1] = '\0';
	return q->s;
}

/* ---- JSON parse helpers ------------------------------------------------- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses p[0..n) as exactly one JSON value (surrounding whitespace
 * allowed). On failure returns NULL and sets *fail_at to the offset of the
 * problem within p. */
static cJSON *parse_exact(const char *p, size_t n, size_t *fail_at)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(p, n, &end, false);
	if (!j) {
		*fail_at = end && end >= p && end <= p + n ? (size_t)(end - p) : n;
		return NULL;
	}
	while (end < p + n && is_ws(*end))
		end++;
	if (end != p + n) {
		cJSON_Delete(j);
		*fail_at = (size_t)(end - p);
		return NULL;
	}
	return j;
}

/* "syntax error at line 3 column 7 near '...'" for offset pos of base. */
static int describe_fail(struct fp_err *err, const char *what, const char *base,
                         size_t len, size_t pos)
{
	size_t line = 1, col = 1;
	for (size_t i = 0; i < pos && i < len; i++) {
		if (base[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (pos >= len)
		return fp_errf(err, "%s: it ends early at line %zu (the text may be "
		               "truncated or a brace unclosed)", what, line);
	char near[4 * 30 + 8];
	quote(near, base + pos, len - pos, 30, false);
	return fp_errf(err, "%s: syntax error at line %zu column %zu near '%s'",
	               what, line, col, near);
}

static const char *json_type_name(const cJSON *j)
{
	if (cJSON_IsString(j))
		return "string";
	if (cJSON_IsNumber(j))
		return "number";
	if (cJSON_IsBool(j))
		return "boolean";
	if (cJSON_IsNull(j))
		return "null";
	if (cJSON_IsArray(j))
		return "array";
	if (cJSON_IsObject(j))
		return "object";
	return "invalid value";
}

/* ---- extraction --------------------------------------------------------- */

/* Why extraction failed, strongest reason first when reporting. */
struct extract_state {
	const char *text; /* the whole reply, for line numbers */
	size_t len;
	int attempts;
	bool fence_fail, whole_fail, brace_fail, nonobj;
	size_t fence_pos, whole_pos, brace_pos; /* offsets into text */
	const char *nonobj_type;
	bool skip_empty;        /* in prose, "{}" is more likely a dict than a repo */
	const char *empty_span; /* the first "{...}" skipped that way */
	size_t empty_len;
};

/* Tries text span [p, p+n) as an object. 1 = success (*out set), 0 = no. */
static int try_span(struct extract_state *st, const char *p, size_t n,
                    bool *failed, size_t *fail_pos, char **out)
{
	size_t at = 0;
	st->attempts++;
	/* A raw NUL byte would silently cut cJSON's C strings (and our copy). */
	const char *nulb = memchr(p, '\0', n);
	cJSON *j = nulb ? NULL : parse_exact(p, n, &at);
	if (nulb)
		at = (size_t)(nulb - p);
	if (!j) {
		if (!*failed) {
			*failed = true;
			*fail_pos = (size_t)(p - st->text) + at;
		}
		return 0;
	}
	bool obj = cJSON_IsObject(j);
	if (obj && !j->child && st->skip_empty) {
		if (!st->empty_span) {
			st->empty_span = p;
			st->empty_len = n;
		}
		obj = false;
	} else if (!obj && !st->nonobj) {
		st->nonobj = true;
		st->nonobj_type = json_type_name(j);
	}
	cJSON_Delete(j);
	if (!obj)
		return 0;
	*out = fp_xmalloc(n + 1);
	memcpy(*out, p, n);
	(*out)[n] = '\0';
	return 1;
}

static void trim(const char **a, const char **b)
{
	while (*a < *b && is_ws(**a))
		(*a)++;
	while (*b > *a && is_ws((*b)[-1]))
		(*b)--;
}

/* If the line at p opens or closes a fence, returns the text after the
 * backticks, else NULL. */
static const char *fence_at(const char *p, const char *le)
{
	while (p < le && (*p == ' ' || *p == '\t'))
		p++;
	if (le - p >= 3 && memcmp(p, "```", 3) == 0)
		return p + 3;
	return NULL;
}

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

/* Markdown fences: "```json" / "```JSON" / "```" blocks, first one that
 * holds an object wins. A raw newline cannot occur inside a JSON string, so
 * a line starting with ``` always ends the block, even when file contents
 * (a README) hold fences of their own. */
static int try_fences(struct extract_state *st, const char *p, const char *end,
                      char **out)
{
	while (p < end && st->attempts < FP_CAND_ATTEMPTS) {
		const char *le = line_end(p, end);
		const char *info = fence_at(p, le);
		p = le < end ? le + 1 : end;
		if (!info)
			continue;
		const char *ia = info, *ib = le;
		trim(&ia, &ib);
		bool tagged = ib - ia == 4 && strncasecmp(ia, "json", 4) == 0;
		const char *body = p, *body_end = end;
		while (p < end) {
			const char *ce = line_end(p, end);
			bool closes = fence_at(p, ce) != NULL;
			const char *ls = p;
			p = ce < end ? ce + 1 : end;
			if (closes) {
				body_end = ls;
				break;
			}
		}
		if (!tagged && ib != ia)
			continue; /* ```python and friends */
		const char *ca = body, *cb = body_end;
		trim(&ca, &cb);
		if (!tagged && (ca == cb || *ca != '{'))
			continue; /* an untagged block of shell or prose */
		if (try_span(st, ca, (size_t)(cb - ca), &st->fence_fail, &st->fence_pos, out))
			return 1;
	}
	return 0;
}

/* End of the balanced {...} starting at p (string- and escape-aware), or
 * NULL when it never closes. */
static const char *match_brace(const char *p, const char *end)
{
	size_t depth = 0;
	bool in_str = false;
	for (; p < end; p++) {
		char c = *p;
		if (in_str) {
			if (c == '\\')
				p++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{') {
			depth++;
		} else if (c == '}' && --depth == 0) {
			return p + 1;
		}
	}
	return NULL;
}

static int try_braces(struct extract_state *st, const char *p, const char *end,
                      char **out)
{
	st->skip_empty = true;
	while (st->attempts < FP_CAND_ATTEMPTS &&
	       (p = memchr(p, '{', (size_t)(end - p))) != NULL) {
		const char *close = match_brace(p, end);
		if (!close) {
			/* An unclosed object: most likely a truncated reply. */
			if (!st->brace_fail) {
				st->brace_fail = true;
				st->brace_pos = (size_t)(end - st->text);
			}
			st->attempts++;
		} else if (try_span(st, p, (size_t)(close - p), &st->brace_fail,
		                    &st->brace_pos, out)) {
			return 1;
		}
		p++;
	}
	return 0;
}

static int extract_error(const struct extract_state *st, const char *a,
                         const char *b, struct fp_err *err)
{
	static const char what[] = "the JSON object in the reply does not parse";
	if (st->fence_fail)
		return describe_fail(err, what, st->text, st->len, st->fence_pos);
	if (st->nonobj)
		return fp_errf(err, "the reply holds a JSON %s, not an object mapping "
		               "file paths to contents", st->nonobj_type);
	if (st->whole_fail)
		return describe_fail(err, what, st->text, st->len, st->whole_pos);
	if (st->brace_fail)
		return describe_fail(err, what, st->text, st->len, st->brace_pos);
	char start[4 * FP_CAND_QUOTE_MAX + 8];
	quote(start, a, (size_t)(b - a), FP_CAND_QUOTE_MAX, false);
	return fp_errf(err, "no JSON object found in the reply (it starts with: '%s')",
	               start);
}

int fp_cand_extract(const char *text, size_t len, char **json_out,
                    struct fp_err *err)
{
	*json_out = NULL;
	if (len > FP_CAND_TEXT_MAX)
		return fp_errf(err, "reply is too large (%zu bytes, limit %zu)", len,
		               FP_CAND_TEXT_MAX);
	const char *a = text, *b = text + len;
	trim(&a, &b);
	if (a == b)
		return fp_errf(err, "reply is empty");
	struct extract_state st = {.text = text, .len = len};
	if (*a == '{' || *a == '[') {
		if (try_span(&st, a, (size_t)(b - a), &st.whole_fail, &st.whole_pos, json_out))
			return 0;
		if (st.nonobj) /* valid JSON, just not an object: nothing to look for */
			return extract_error(&st, a, b, err);
	}
	if (try_fences(&st, a, b, json_out) || try_braces(&st, a, b, json_out))
		return 0;
	if (st.empty_span && !st.fence_fail && !st.whole_fail && !st.brace_fail) {
		/* parsing it will say "the reply contains no files" */
		*json_out = fp_xmalloc(st.empty_len + 1);
		memcpy(*json_out, st.empty_span, st.empty_len);
		(*json_out)[st.empty_len] = '\0';
		return 0;
	}
	return extract_error(&st, a, b, err);
}

/* ---- path checks -------------------------------------------------------- */

static int check_component(const char *path, size_t n, const char *c, size_t cl,
                           bool last, struct fp_err *err)
{
	struct qpath q;
	if (cl == 0)
		return fp_errf(err, last ? "%s: path must not end with '/'"
		                         : "%s: path has an empty component ('//')",
		               qp(&q, path, n));
	if ((cl == 1 && c[0] == '.') || (cl == 2 && c[0] == '.' && c[1] == '.'))
		return fp_errf(err, "%s: path has a '%.*s' component", qp(&q, path, n),
		               (int)cl, c);
	if (cl > FP_CAND_NAME_MAX)
		return fp_errf(err, "%s: path component is %zu bytes, longer than %d",
		               qp(&q, path, n), cl, FP_CAND_NAME_MAX);
	return 0;
}

int fp_cand_check_path(const char *path, const struct fp_cand_limits *l,
                       struct fp_err *err)
{
	struct qpath q;
	size_t n = strlen(path);
	if (n == 0)
		return fp_errf(err, "\"\": empty path");
	if (n > l->max_path_len)
		return fp_errf(err, "%s: path is %zu bytes, longer than the limit of %zu",
		               qp(&q, path, n), n, l->max_path_len);
	if (path[0] == '/')
		return fp_errf(err, "%s: path must be relative", qp(&q, path, n));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c == '\\')
			return fp_errf(err, "%s: path has a backslash", qp(&q, path, n));
		if (c < 0x20 || c == 0x7f)
			return fp_errf(err, "%s: path has a control character", qp(&q, path, n));
	}
	size_t depth = 0;
	for (const char *c = path;; depth++) {
		const char *slash = memchr(c, '/', (size_t)(path + n - c));
		const char *ce = slash ? slash : path + n;
		if (check_component(path, n, c, (size_t)(ce - c), !slash && c != path, err) < 0)
			return -1;
		if (!slash)
			break;
		c = slash + 1;
	}
	if (depth + 1 > l->max_depth)
		return fp_errf(err, "%s: path has %zu components, more than the limit of %zu",
		               qp(&q, path, n), depth + 1, l->max_depth);
	return 0;
}

/* ---- parse + validate --------------------------------------------------- */

/* cJSON silently cuts a string at an escaped NUL (\u0000) because it keeps
 * no length. So the raw text of the top-level object is walked once to learn,
 * per member (in cJSON's child order), whether its key or value holds one. */
static const char *raw_string(const char *p, const char *end, bool *has_nul)
{
	*has_nul = false;
	for (p++; p < end; p++) {
		if (*p == '"')
			return p + 1;
		if (*p == '\0') /* raw NUL: invalid JSON, but cJSON lets it through */
			*has_nul = true;
		if (*p != '\\')
			continue;
		if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0)
			*has_nul = true;
		p++;
	}
	return end;
}

static const char *raw_skip_value(const char *p, const char *end)
{
	size_t depth = 0;
	bool nul;
	while (p < end) {
		if (*p == '"') {
			p = raw_string(p, end, &nul);
			continue;
		}
		if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (depth == 0)
				return p;
			depth--;
		} else if (*p == ',' && depth == 0) {
			return p;
		}
		p++;
	}
	return end;
}

/* Fills nul[i] (1 key, 2 value) for member i of the (already validated) object text. */
static void raw_member_nuls(const char *p, const char *end, int *nul, size_t n)
{
	while (p < end && *p != '{')
		p++;
	p++;
	for (size_t i = 0; i < n; i++) {
		bool kn = false, vn = false;
		while (p < end && *p != '"')
			p++;
		p = raw_string(p, end, &kn);
		while (p < end && (*p == ':' || is_ws(*p)))
			p++;
		if (p < end && *p == '"')
			p = raw_string(p, end, &vn);
		else
			p = raw_skip_value(p, end);
		nul[i] = (kn ? 1 : 0) | (vn ? 2 : 0);
		while (p < end && *p != ',' && *p != '}')
			p++;
		p++;
	}
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct fp_file *)a)->path, ((const struct fp_file *)b)->path);
}

/* Is prefix[0..n) exactly the path of some file? (m sorted) */
static bool has_file(const struct fp_filemap *m, const char *prefix, size_t n)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = m->files[mid].path;
		int c = strncmp(p, prefix, n);
		if (c == 0)
			c = p[n] == '\0' ? 0 : 1;
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* On a sorted map: duplicates and file-vs-directory clashes. */
static int check_map_shape(const struct fp_filemap *m, struct fp_err *err)
{
	struct qpath q1, q2;
	for (size_t i = 0; i < m->n; i++) {
		const char *p = m->files[i].path;
		if (i > 0 && strcmp(m->files[i - 1].path, p) == 0)
			return fp_errf(err, "%s: duplicate path", qp(&q1, p, strlen(p)));
		for (const char *s = strchr(p, '/'); s; s = strchr(s + 1, '/'))
			if (has_file(m, p, (size_t)(s - p)))
				return fp_errf(err, "%s: is a file, but %s needs it to be a directory",
				               qp(&q1, p, (size_t)(s - p)), qp(&q2, p, strlen(p)));
	}
	return 0;
}

/* Validates member |c| and appends it to out; *total accumulates content
 * bytes. |nul| says whether the raw key (1) or value (2) held \u0000. */
static int add_member(const cJSON *c, int nul, const struct fp_cand_limits *l,
                      struct fp_filemap *out, size_t *total, struct fp_err *err)
{
	struct qpath q;
	const char *key = c->string;
	size_t kl = strlen(key);
	if (nul & 1)
		return fp_errf(err, "%s: path holds a NUL character (\\u0000)",
		               qp(&q, key, kl));
	if (fp_cand_check_path(key, l, err) < 0)
		return -1;
	if (!cJSON_IsString(c))
		return fp_errf(err, "%s: value must be a string, got %s", qp(&q, key, kl),
		               json_type_name(c));
	if (nul & 2)
		return fp_errf(err, "%s: contents hold a NUL character (\\u0000)",
		               qp(&q, key, kl));
	size_t vl = strlen(c->valuestring);
	if (vl > l->max_file_bytes)
		return fp_errf(err, "%s: file is %zu bytes, over the limit of %zu",
		               qp(&q, key, kl), vl, l->max_file_bytes);
	*total += vl;
	if (*total > l->max_total_bytes)
		return fp_errf(err, "%s: files total more than the limit of %zu bytes",
		               qp(&q, key, kl), l->max_total_bytes);
	struct fp_file *f = &out->files[out->n++];
	f->path = fp_strdup(key);
	f->data = fp_strdup(c->valuestring);
	f->len = vl;
	return 0;
}

static int parse_members(const cJSON *root, const char *json, size_t len,
                         const struct fp_cand_limits *l, struct fp_filemap *out,
                         struct fp_err *err)
{
	size_t n = (size_t)cJSON_GetArraySize(root);
	if (n == 0)
		return fp_errf(err, "the reply contains no files");
	if (n > l->max_files)
		return fp_errf(err, "the reply has %zu files, more than the limit of %zu",
		               n, l->max_files);
	int *nul = fp_xcalloc(n, sizeof *nul);
	raw_member_nuls(json, json + len, nul, n);
	out->files = fp_xcalloc(n, sizeof *out->files);
	size_t total = 0, i = 0;
	int rc = 0;
	for (const cJSON *c = root->child; c && rc == 0; c = c->next, i++)
		rc = add_member(c, nul[i], l, out, &total, err);
	free(nul);
	if (rc < 0)
		return -1;
	qsort(out->files, out->n, sizeof *out->files, cmp_file);
	return check_map_shape(out, err);
}

int fp_cand_parse(const char *json, size_t len, const struct fp_cand_limits *l,
                  struct fp_filemap *out, struct fp_err *err)
{
	out->files = NULL;
	out->n = 0;
	if (len > FP_CAND_TEXT_MAX)
		return fp_errf(err, "candidate JSON is too large (%zu bytes, limit %zu)",
		               len, FP_CAND_TEXT_MAX);
	size_t at = 0;
	cJSON *root = parse_exact(json, len, &at);
	if (!root)
		return describe_fail(err, "the candidate JSON does not parse", json, len, at);
	int rc;
	if (!cJSON_IsObject(root))
		rc = fp_errf(err, "the candidate must be a JSON object mapping file paths "
		             "to contents, got %s", json_type_name(root));
	else
		rc = parse_members(root, json, len, l, out, err);
	cJSON_Delete(root);
	if (rc < 0)
		fp_filemap_free(out);
	return rc;
}

int fp_cand_from_text(const char *text, size_t len,
                      const struct fp_cand_limits *l, struct fp_filemap *out,
                      struct fp_err *err)
{
	char *json = NULL;
	out->files = NULL;
	out->n = 0;
	/* json is set exactly when extraction succeeds; "|| !json" says so to
	 * the static analyzer, which cannot see that fp_errf() returns -1. */
	if (fp_cand_extract(text, len, &json, err) < 0 || !json)
		return -1;
	int rc = fp_cand_parse(json, strlen(json), l, out, err);
	free(json);
	return rc;
}

/* ---- loading from disk -------------------------------------------------- */

struct walk {
	const struct fp_cand_limits *l;
	const char *root;             /* for messages */
	struct fp_filemap *m;
	size_t alloc;
	size_t total;
	char path[FP_CAND_WALK_PATH_MAX]; /* relative path being visited */
};

static bool skipped_name(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, "__pycache__") ||
	       !strcmp(name, ".pytest_cache") || !strcmp(name, ".git");
}

/* Reads at most |cap| bytes of fd; more is an error (never read past
 * cap + 1). *out owned by the caller. */
static int read_capped(int fd, size_t cap, size_t size_hint, char **out, size_t *len)
{
	size_t alloc = (size_hint < cap ? size_hint : cap) + 1, n = 0;
	char *buf = fp_xmalloc(alloc + 1);
	for (;;) {
		if (n == alloc) {
			if (alloc > cap)
				break; /* read cap + 1 bytes: too big */
			alloc = alloc * 2 > cap + 1 ? cap + 1 : alloc * 2;
			buf = fp_xrealloc(buf, alloc + 1);
		}
		ssize_t r = read(fd, buf + n, alloc - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0) {
				free(buf);
				return -1;
			}
			break;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int walk_file(struct walk *w, int dfd, const char *name, struct fp_err *err)
{
	struct qpath q;
	const char *rel = w->path;
	if (w->m->n >= w->l->max_files)
		return fp_errf(err, "'%s' has more than %zu files", w->root, w->l->max_files);
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return fp_errf(err, "%s in '%s': cannot open as a regular file: %s",
		               qp(&q, rel, strlen(rel)), w->root, fd >= 0 ? "changed type" : strerror(e));
	}
	size_t room = w->l->max_total_bytes - w->total;
	size_t cap = w->l->max_file_bytes < room ? w->l->max_file_bytes : room;
	char *data;
	size_t len;
	int rc = read_capped(fd, cap, (size_t)st.st_size, &data, &len);
	int e = errno;
	close(fd);
	if (rc < 0)
		return fp_errf(err, "%s in '%s': cannot read: %s", qp(&q, rel, strlen(rel)),
		               w->root, strerror(e));
	if (len > cap) {
		free(data);
		if (cap == w->l->max_file_bytes || (size_t)st.st_size > w->l->max_file_bytes)
			return fp_errf(err, "%s: file is over the limit of %zu bytes",
			               qp(&q, rel, strlen(rel)), w->l->max_file_bytes);
		return fp_errf(err, "%s: files total more than the limit of %zu bytes",
		               qp(&q, rel, strlen(rel)), w->l->max_total_bytes);
	}
	if (w->m->n == w->alloc) {
		w->alloc = w->alloc ? 2 * w->alloc : 16;
		w->m->files = fp_xrealloc(w->m->files, w->alloc * sizeof *w->m->files);
	}
	w->m->files[w->m->n++] = (struct fp_file){fp_strdup(rel), data, len};
	w->total += len;
	return 0;
}

static int walk_dir(struct walk *w, int dfd, size_t depth, struct fp_err *err);

/* Visits one directory entry; w->path already holds its relative path. */
static int walk_entry(struct walk *w, int dfd, const char *name, size_t depth,
                      struct fp_err *err)
{
	struct qpath q;
	const char *rel = w->path;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fp_errf(err, "%s in '%s': %s", qp(&q, rel, strlen(rel)), w->root,
		               strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (depth + 1 >= w->l->max_depth)
			return fp_errf(err, "%s: directory nesting deeper than the limit of %zu",
			               qp(&q, rel, strlen(rel)), w->l->max_depth);
		int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return fp_errf(err, "%s in '%s': cannot open directory: %s",
			               qp(&q, rel, strlen(rel)), w->root, strerror(errno));
		return walk_dir(w, sub, depth + 1, err);
	}
	if (!S_ISREG(st.st_mode))
		return fp_errf(err, "%s in '%s' is a %s, only regular files are allowed",
		               qp(&q, rel, strlen(rel)), w->root,
		               S_ISLNK(st.st_mode) ? "symlink" : S_ISFIFO(st.st_mode) ? "fifo" :
		               S_ISSOCK(st.st_mode) ? "socket" : "device");
	if (fp_cand_check_path(rel, w->l, err) < 0)
		return -1;
	return walk_file(w, dfd, name, err);
}

/* Walks directory fd |dfd| (taken over and closed). */
static int walk_dir(struct walk *w, int dfd, size_t depth, struct fp_err *err)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return fp_errf(err, "cannot read directory '%s': %s", w->root, strerror(e));
	}
	size_t base = strlen(w->path);
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		if (skipped_name(e->d_name))
			continue;
		size_t nl = strlen(e->d_name);
		if (base + 1 + nl > w->l->max_path_len || base + 2 + nl > sizeof w->path) {
			struct qpath q;
			rc = fp_errf(err, "%s in '%s': path longer than the limit of %zu",
			             qp(&q, e->d_name, nl), w->root, w->l->max_path_len);
			break;
		}
		if (base)
			w->path[base] = '/';
		memcpy(w->path + base + (base ? 1 : 0), e->d_name, nl + 1);
		rc = walk_entry(w, dirfd(d), e->d_name, depth, err);
		w->path[base] = '\0';
	}
	if (rc == 0 && errno != 0)
		rc = fp_errf(err, "cannot read directory '%s': %s", w->root, strerror(errno));
	closedir(d);
	return rc;
}

int fp_cand_load_dir(const char *dir, const struct fp_cand_limits *l,
                     struct fp_filemap *out, struct fp_err *err)
{
	out->files = NULL;
	out->n = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fp_errf(err, "cannot open directory '%s': %s", dir, strerror(errno));
	struct walk *w = fp_xcalloc(1, sizeof *w);
	w->l = l;
	w->root = dir;
	w->m = out;
	int rc = walk_dir(w, fd, 0, err);
	free(w);
	if (rc == 0 && out->n == 0)
		rc = fp_errf(err, "'%s' contains no files", dir);
	if (rc < 0) {
		fp_filemap_free(out);
		return -1;
	}
	qsort(out->files, out->n, sizeof *out->files, cmp_file);
	return 0;
}

int fp_cand_load(const char *path, const struct fp_cand_limits *l,
                 struct fp_filemap *out, struct fp_err *err)
{
	struct stat st;
	out->files = NULL;
	out->n = 0;
	if (stat(path, &st) < 0)
		return fp_errf(err, "cannot access '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fp_cand_load_dir(path, l, out, err);
	char *text;
	size_t len;
	if (fp_read_file(path, FP_CAND_TEXT_MAX, &text, &len, err) < 0)
		return -1;
	struct fp_err inner;
	int rc = fp_cand_from_text(text, len, l, out, &inner);
	free(text);
	if (rc < 0)
		return fp_errf(err, "'%s': %s", path, inner.msg);
	return 0;
}

/* ---- hashing and serialising -------------------------------------------- */

void fp_filemap_sha256(const struct fp_filemap *m, char hex[65])
{
	struct fp_sha256 s;
	unsigned char digest[32];
	fp_sha256_init(&s);
	for (size_t i = 0; i < m->n; i++) {
		const struct fp_file *f = &m->files[i];
		unsigned char be[8];
		for (int k = 0; k < 8; k++)
			be[k] = (unsigned char)((uint64_t)f->len >> (56 - 8 * k));
		fp_sha256_update(&s, f->path, strlen(f->path) + 1);
		fp_sha256_update(&s, be, sizeof be);
		fp_sha256_update(&s, f->data, f->len);
	}
	fp_sha256_final(&s, digest);
	fp_sha256_hex(digest, hex);
}

/* Appends data[0..n) as a JSON string literal. Our own encoder rather than
 * cJSON's so contents with NUL bytes (possible when loaded from disk)
 * survive as \u0000 instead of being cut. */
static void json_string(struct fp_buf *b, const char *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	fp_buf_append(b, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		fp_buf_append(b, data + run, i - run);
		run = i + 1;
		char esc[7] = {'\\', 0};
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[2] = esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			break;
		}
		fp_buf_append(b, esc, strlen(esc));
	}
	fp_buf_append(b, data + run, n - run);
	fp_buf_append(b, "\"", 1);
}

char *fp_filemap_to_json(const struct fp_filemap *m)
{
	struct fp_buf b;
	fp_buf_init(&b, SIZE_MAX - 1);
	fp_buf_append(&b, "{", 1);
	for (size_t i = 0; i < m->n; i++) {
		fp_buf_append(&b, i ? ",\n  " : "\n  ", i ? 4 : 3);
		json_string(&b, m->files[i].path, strlen(m->files[i].path));
		fp_buf_append(&b, ": ", 2);
		json_string(&b, m->files[i].data, m->files[i].len);
	}
	fp_buf_append(&b, m->n ? "\n}\n" : "}\n", m->n ? 3 : 2);
	return fp_buf_steal(&b);
}

/* ---- writing to disk ---------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Opens (creating when missing) directory |name| below |dfd|. The mode is
 * set with fchmod so the caller's umask cannot make the workspace
 * unreadable to the unprivileged sandbox user. */
static int open_subdir(int dfd, const char *name)
{
	bool made = mkdirat(dfd, name, 0755) == 0;
	if (!made && errno != EEXIST)
		return -1;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && made && fchmod(fd, 0755) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_one(int root, const struct fp_file *f, const char *dir,
                     struct fp_err *err)
{
	/* Defence in depth: structural rules only, the limits were applied
	 * when the map was built. */
	static const struct fp_cand_limits loose = {SIZE_MAX, SIZE_MAX, SIZE_MAX,
	                                            FP_CAND_WALK_PATH_MAX, 1024};
	if (fp_cand_check_path(f->path, &loose, err) < 0)
		return -1;
	char *path = fp_strdup(f->path), *name = path;
	int cur = root, fd = -1;
	for (char *slash; (slash = strchr(name, '/')) != NULL; name = slash + 1) {
		*slash = '\0';
		int sub = open_subdir(cur, name);
		if (cur != root)
			close(cur);
		cur = sub;
		if (cur < 0)
			break;
	}
	if (cur >= 0)
		fd = openat(cur, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc = fd >= 0 && fchmod(fd, 0644) == 0 && write_all(fd, f->data, f->len) == 0 ? 0 : -1;
	int e = errno;
	if (fd >= 0 && close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (cur >= 0 && cur != root)
		close(cur);
	free(path);
	if (rc < 0) {
		struct qpath q;
		return fp_errf(err, "cannot write %s under '%s': %s",
		               qp(&q, f->path, strlen(f->path)), dir, strerror(e));
	}
	return 0;
}

static int dir_is_empty(int dfd)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *e;
	int empty = 1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

int fp_filemap_write(const struct fp_filemap *m, const char *dir,
                     struct fp_err *err)
{
	int root = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		return fp_errf(err, "cannot open directory '%s': %s", dir, strerror(errno));
	int empty = dir_is_empty(root);
	if (empty <= 0) {
		int e = errno;
		close(root);
		return empty < 0 ? fp_errf(err, "cannot read directory '%s': %s", dir, strerror(e))
		                 : fp_errf(err, "directory '%s' is not empty", dir);
	}
	int rc = 0;
	for (size_t i = 0; i < m->n && rc == 0; i++)
		rc = write_one(root, &m->files[i], dir, err);
	close(root);
	return rc;
}
