/* jsonc.c - JSON with comments: strip them, parse with cJSON, and find the
 * line of a field afterwards.
 *
 * Comments are blanked, not removed: every byte keeps its offset and every
 * newline stays, so cJSON's error position and our field locator both
 * count lines in the text the user wrote. */
#include "jsonc.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fp_jsonc_offset_line(const char *text, size_t len, size_t off)
{
	int line = 1;

	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* Copies one string literal starting at text[*i] == '"' into out; *i ends
 * after the closing quote. Raw newlines and NUL bytes are errors: JSON
 * forbids them, and catching them here names the line where a closing
 * quote is missing instead of a confusing cJSON error far below. */
static int strip_string(const char *text, size_t len, char *out, size_t *i,
                        int *line, struct fp_err *err)
{
	size_t p = *i;

	out[p] = text[p];
	for (p++; p < len; p++) {
		out[p] = text[p];
		if (text[p] == '"') {
			*i = p + 1;
			return 0;
		}
		if (text[p] == '\n' || text[p] == '\0')
			return fp_errf(err, "line %d: unterminated string", *line);
		if (text[p] == '\\' && p + 1 < len && text[p + 1] != '\n') {
			p++;
			out[p] = text[p];
		}
	}
	return fp_errf(err, "line %d: unterminated string", *line);
}

/* Blanks the comment at text[*i] (line or block); *i ends after it. */
static int strip_comment(const char *text, size_t len, char *out, size_t *i,
                         int *line, struct fp_err *err)
{
	size_t p = *i;
	int start_line = *line;

	if (text[p + 1] == '/') {
		for (; p < len && text[p] != '\n'; p++)
			out[p] = ' ';
		*i = p;
		return 0;
	}
	out[p] = out[p + 1] = ' ';
	for (p += 2; p + 1 < len; p++) {
		if (text[p] == '*' && text[p + 1] == '/') {
			out[p] = out[p + 1] = ' ';
			*i = p + 2;
			return 0;
		}
		out[p] = text[p] == '\n' ? '\n' : ' ';
		if (text[p] == '\n')
			(*line)++;
	}
	*line = start_line;
	return fp_errf(err, "line %d: unterminated comment", start_line);
}

int fp_jsonc_strip(const char *text, size_t len, char **out, int *line,
                   struct fp_err *err)
{
	char *o;
	size_t i = 0;
	int ln = 1, rc = 0;

	*out = NULL;
	if (len > FP_JSONC_MAX_BYTES)
		return fp_errf(err, "line 1: text too large (over %u bytes)",
		               FP_JSONC_MAX_BYTES);
	o = fp_xmalloc(len + 1);
	o[len] = '\0';
	while (i < len && rc == 0) {
		char ch = text[i];

		if (ch == '"') {
			rc = strip_string(text, len, o, &i, &ln, err);
		} else if (ch == '/' && i + 1 < len &&
		           (text[i + 1] == '/' || text[i + 1] == '*')) {
			rc = strip_comment(text, len, o, &i, &ln, err);
		} else if (ch == '\0') {
			rc = fp_errf(err, "line %d: NUL byte", ln);
		} else {
			o[i++] = ch;
			if (ch == '\n')
				ln++;
		}
	}
	if (line)
		*line = ln;
	if (rc < 0) {
		free(o);
		return -1;
	}
	/* A UTF-8 byte order mark is harmless: blank it for cJSON. */
	if (len >= 3 && memcmp(o, "\xef\xbb\xbf", 3) == 0)
		memset(o, ' ', 3);
	*out = o;
	return 0;
}

/* Up to 24 bytes of the text at |off|, stopping at a newline, for a
 * syntax error message. */
static void near_text(const char *text, size_t len, size_t off, char *buf,
                      size_t buflen)
{
	size_t n = 0;

	while (off + n < len && n + 1 < buflen && n < 24 &&
	       text[off + n] != '\n' && text[off + n] != '\r')
		n++;
	while (n > 0 && (text[off + n - 1] == ' ' || text[off + n - 1] == '\t'))
		n--; /* blanked comments */
	memcpy(buf, text + off, n);
	buf[n] = '\0';
}

int fp_jsonc_parse(const char *text, size_t len, cJSON **out,
                   struct fp_err *err)
{
	char *s, near[32];
	const char *end = NULL;
	size_t off;

	*out = NULL;
	/* s is set exactly when stripping succeeds; "|| !s" says so to the
	 * static analyzer, which cannot see that fp_errf() returns -1. */
	if (fp_jsonc_strip(text, len, &s, NULL, err) < 0 || !s)
		return -1;
	*out = cJSON_ParseWithLengthOpts(s, len + 1, &end, 1);
	if (*out) {
		free(s);
		return 0;
	}
	off = end && end >= s && end <= s + len ? (size_t)(end - s) : len;
	near_text(s, len, off, near, sizeof(near));
	if (near[0])
		fp_errf(err, "line %d: invalid JSON near '%s'",
		        fp_jsonc_offset_line(s, len, off), near);
	else
		fp_errf(err, "line %d: invalid JSON (unexpected end)",
		        fp_jsonc_offset_line(s, len, off));
	free(s);
	return -1;
}

int fp_jsonc_parse_at(const char *origin, const char *text, size_t len,
                      cJSON **out, struct fp_err *err)
{
	struct fp_err e;
	const char *num = NULL;
	char *end = NULL;
	long line;

	if (fp_jsonc_parse(text, len, out, &e) == 0)
		return 0;
	/* e.msg is "line N: problem": move the number behind the origin. */
	if (strncmp(e.msg, "line ", 5) == 0) {
		num = e.msg + 5;
		errno = 0;
		line = strtol(num, &end, 10);
		if (end != num && *end == ':' && errno == 0 && line >= 0 &&
		    line <= INT_MAX)
			return fp_errf(err, "%s:%ld: %s", origin, line,
			               end + 1 + strspn(end + 1, " "));
	}
	return fp_errf(err, "%s: %s", origin, e.msg);
}

/* ---- the field locator ---------------------------------------------- */

struct scan {
	const char *t;
	size_t len;
	size_t p;
	int line;
};

/* Skips whitespace and comments. */
static void skip_ws(struct scan *s)
{
	while (s->p < s->len) {
		char c = s->t[s->p];

		if (c == '\n') {
			s->line++;
			s->p++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			s->p++;
		} else if (c == '/' && s->p + 1 < s->len && s->t[s->p + 1] == '/') {
			while (s->p < s->len && s->t[s->p] != '\n')
				s->p++;
		} else if (c == '/' && s->p + 1 < s->len && s->t[s->p + 1] == '*') {
			for (s->p += 2; s->p < s->len; s->p++) {
				if (s->t[s->p] == '\n')
					s->line++;
				if (s->t[s->p] == '*' && s->p + 1 < s->len &&
				    s->t[s->p + 1] == '/') {
					s->p += 2;
					break;
				}
			}
		} else {
			return;
		}
	}
}

/* At a '"': skips the string; returns its raw body (start, length). */
static void skip_string(struct scan *s, size_t *start, size_t *n)
{
	size_t b = ++s->p;

	while (s->p < s->len && s->t[s->p] != '"') {
		if (s->t[s->p] == '\n')
			s->line++;
		if (s->t[s->p] == '\\')
			s->p++;
		s->p++;
	}
	if (start)
		*start = b;
	if (n)
		*n = (s->p < s->len ? s->p : s->len) - b;
	if (s->p < s->len)
		s->p++;
}

/* Skips one value of any kind, nested ones included. */
static void skip_value(struct scan *s)
{
	size_t nest = 0;

	skip_ws(s);
	while (s->p < s->len) {
		char c = s->t[s->p];

		if (c == '"') {
			skip_string(s, NULL, NULL);
		} else if (c == '{' || c == '[') {
			nest++;
			s->p++;
		} else if (c == '}' || c == ']') {
			if (nest == 0)
				return;
			nest--;
			s->p++;
		} else if (c == ',' && nest == 0) {
			return;
		} else {
			s->p++;
		}
		if (nest == 0 && (c == '"' || c == '}' || c == ']'))
			return;
		skip_ws(s);
	}
}

/* Inside an object or array (just after '{' or '['): moves to the member
 * |key| (object) or element number |index| (array). Returns false when
 * it is not there. */
static bool find_member(struct scan *s, bool object, const char *key,
                        long index, int *line)
{
	for (long i = 0;; i++) {
		size_t kb = 0, kn = 0;

		skip_ws(s);
		if (s->p >= s->len || s->t[s->p] == '}' || s->t[s->p] == ']')
			return false;
		*line = s->line;
		if (object) {
			if (s->t[s->p] != '"')
				return false;
			skip_string(s, &kb, &kn);
			skip_ws(s);
			if (s->p >= s->len || s->t[s->p] != ':')
				return false;
			s->p++;
			if (kn == strlen(key) && memcmp(s->t + kb, key, kn) == 0)
				return true;
		} else if (i == index) {
			return true;
		}
		skip_value(s);
		skip_ws(s);
		if (s->p >= s->len || s->t[s->p] != ',')
			return false;
		s->p++;
	}
}

int fp_jsonc_line(const char *text, size_t len, const char *const *keypath,
                  int depth)
{
	struct scan s = { .t = text, .len = len, .p = 0, .line = 1 };
	int best = 1;

	for (int d = 0; d < depth; d++) {
		char c;
		long index = -1;
		int here = best;

		skip_ws(&s);
		if (s.p >= s.len)
			break;
		c = s.t[s.p];

		if (c == '[') {
			char *end = NULL;

			if (keypath[d][0] != '[')
				break;
			index = strtol(keypath[d] + 1, &end, 10);
			if (!end || *end != ']' || index < 0)
				break;
		} else if (c != '{') {
			break;
		}
		s.p++;
		/* The line of the key (or of the array element). */
		if (!find_member(&s, c == '{', keypath[d], index, &here))
			break;
		best = here;
	}
	return best;
}
