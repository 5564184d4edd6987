/* jsonc.h - JSON with // and block comments, parsed by cJSON, plus a way to
 * find the line of a field (cJSON keeps no positions). */
#ifndef FP_JSONC_H
#define FP_JSONC_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "util.h"

/* Longest text accepted (a byte cap on what we scan and hand to cJSON). */
#define FP_JSONC_MAX_BYTES (4u << 20)

/* Copies |text| with every comment replaced by spaces; newlines and string
 * contents stay as they are, so offsets and line numbers are unchanged.
 * A comment opener inside a string is not a comment. Errors (with the line):
 * an unterminated comment or string, a raw newline or NUL byte in a
 * string. *out is NUL terminated and owned by the caller. On error,
 * *line (when not NULL) is the line of the problem. */
int fp_jsonc_strip(const char *text, size_t len, char **out, int *line,
                   struct fp_err *err);

/* Strips comments and parses. The error message starts with the line:
 * "line 12: invalid JSON near '}'". *out is owned by the caller
 * (cJSON_Delete). */
int fp_jsonc_parse(const char *text, size_t len, cJSON **out,
                   struct fp_err *err);
/* The same with "|origin|:12: ..." messages (origin is a file name). */
int fp_jsonc_parse_at(const char *origin, const char *text, size_t len,
                      cJSON **out, struct fp_err *err);

/* The 1-based line of the field at |keypath| in |text| (with or without
 * comments): keypath[0] is a key of the top-level object, and so on. To
 * step into an array, give the element index as "[N]" ("[0]" is the
 * first). Returns the line of the deepest part of the path that exists
 * (the key itself when the whole path exists, so a missing field reports
 * its enclosing object), 1 for depth 0. Keys are compared byte for byte
 * with their raw (still escaped) spelling. Never fails on bad JSON: it
 * just stops where it cannot follow. */
int fp_jsonc_line(const char *text, size_t len, const char *const *keypath,
                  int depth);

/* Line of byte offset |off| in |text| (1-based). */
int fp_jsonc_offset_line(const char *text, size_t len, size_t off);

#endif
