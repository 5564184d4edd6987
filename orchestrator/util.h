/* util.h - small shared helpers: errors, capped buffers, files, time. */
#ifndef FP_UTIL_H
#define FP_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FP_ERR_MAX 512

/* Caller-owned error: no allocation to report an error. */
struct fp_err {
	char msg[FP_ERR_MAX];
};

/* Sets err->msg (when err != NULL) and returns -1. */
int fp_errf(struct fp_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A growable byte buffer with a hard cap (curl's dynbuf idea): appends past
 * |cap| store what fits, set |truncated| and return -1. Always NUL
 * terminated. */
struct fp_buf {
	char *data;      /* owned; NULL until the first append */
	size_t len;
	size_t alloc;
	size_t cap;      /* maximum len */
	bool truncated;
};
void fp_buf_init(struct fp_buf *b, size_t cap);
int fp_buf_append(struct fp_buf *b, const void *p, size_t n);
int fp_buf_printf(struct fp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fp_buf_reset(struct fp_buf *b);
void fp_buf_free(struct fp_buf *b);
/* Hands data over to the caller (who frees it); the buffer is reset. */
char *fp_buf_steal(struct fp_buf *b);

/* Reads a whole file (at most |cap| bytes, else error). *out is NUL
 * terminated and owned by the caller. */
int fp_read_file(const char *path, size_t cap, char **out, size_t *len,
                 struct fp_err *err);
/* Writes a file atomically (tmp + fsync + rename). */
int fp_write_file_atomic(const char *path, const void *data, size_t len,
                         struct fp_err *err);
/* mkdir -p with mode 0755; existing directories are fine. */
int fp_mkdirs(const char *path, struct fp_err *err);
/* rm -rf that never follows symlinks and stays on one device. */
int fp_remove_tree(const char *path);

uint64_t fp_now_ms(void);      /* CLOCK_MONOTONIC */
uint64_t fp_wall_ms(void);     /* CLOCK_REALTIME, for timestamps in files */

/* strdup that aborts on out-of-memory (we cannot work without memory). */
char *fp_strdup(const char *s);
void *fp_xmalloc(size_t n);
void *fp_xcalloc(size_t n, size_t size);
void *fp_xrealloc(void *p, size_t n);

#endif
