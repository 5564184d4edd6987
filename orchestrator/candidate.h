/* candidate.h - untrusted candidate repositories: extraction from model
 * text, validation of the file map, hashing, writing to disk, loading.
 *
 * A candidate on the wire is a JSON object {"relative/path": "contents"}.
 * Everything here treats that text as hostile.
 */
#ifndef FP_CANDIDATE_H
#define FP_CANDIDATE_H

#include <stddef.h>
#include "util.h"

/* Limits on one candidate (defaults below; a policy may lower them). */
struct fp_cand_limits {
	size_t max_files;       /* default 200 */
	size_t max_file_bytes;  /* default 1 MiB */
	size_t max_total_bytes; /* default 8 MiB */
	size_t max_path_len;    /* default 200 bytes */
	size_t max_depth;       /* default 12 path components */
};
void fp_cand_limits_default(struct fp_cand_limits *l);

struct fp_file {
	char *path;    /* owned, normalised relative path ("api/main.py") */
	char *data;    /* owned, contents (may contain NUL when loaded from disk) */
	size_t len;
};

/* A validated file map, files sorted by path (byte order). */
struct fp_filemap {
	struct fp_file *files; /* owned array */
	size_t n;
};
void fp_filemap_free(struct fp_filemap *m); /* frees contents, not m; NULL ok */

/* Finds the candidate JSON object in model output: the text itself, a
 * ```json fenced block, or the first balanced {...} in prose that parses as
 * a JSON object. On failure returns -1 with a precise reason in err (this
 * becomes verdict "invalid" and is fed back to the model). On success
 * *json_out is the extracted object text (caller frees). */
int fp_cand_extract(const char *text, size_t len, char **json_out,
                    struct fp_err *err);

/* Checks one path: relative, normalised (no "", ".", ".." components, no
 * "//", no leading "/", no trailing "/"), no NUL/control characters, no
 * backslash, within length/depth limits. Returns 0 or -1 with a reason. */
int fp_cand_check_path(const char *path, const struct fp_cand_limits *l,
                       struct fp_err *err);

/* Parses + validates a JSON object text into a file map. Values must be
 * strings. Duplicate keys, a path that is both file and directory prefix
 * ("a" and "a/b"), and every limit violation are errors. */
int fp_cand_parse(const char *json, size_t len, const struct fp_cand_limits *l,
                  struct fp_filemap *out, struct fp_err *err);

/* extract + parse in one. */
int fp_cand_from_text(const char *text, size_t len,
                      const struct fp_cand_limits *l, struct fp_filemap *out,
                      struct fp_err *err);

/* Reads a candidate directory (regular files only; symlinks, devices and
 * files over the limits are errors) into a file map. */
int fp_cand_load_dir(const char *dir, const struct fp_cand_limits *l,
                     struct fp_filemap *out, struct fp_err *err);

/* Loads a candidate from a path: a directory or a JSON file. */
int fp_cand_load(const char *path, const struct fp_cand_limits *l,
                 struct fp_filemap *out, struct fp_err *err);

/* sha256 hex (64 chars + NUL) of the normalised map: for each file in path
 * order, path NUL length(8 bytes big endian) data. Identical maps hash the
 * same whatever their key order or JSON whitespace. */
void fp_filemap_sha256(const struct fp_filemap *m, char hex[65]);

/* Writes the map under |dir| (which must exist and be empty), creating
 * subdirectories 0755 and files 0644 with openat/mkdirat relative to the
 * directory fd, O_NOFOLLOW|O_EXCL everywhere: nothing can land outside. */
int fp_filemap_write(const struct fp_filemap *m, const char *dir,
                     struct fp_err *err);

/* Serialises a map back to a JSON object text (caller frees). */
char *fp_filemap_to_json(const struct fp_filemap *m);

#endif
