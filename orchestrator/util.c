/* util.c - errors, capped buffers, files and time. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int fp_errf(struct fp_err *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void *fp_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		/* Nothing sensible can continue without memory. */
		fputs("firstpass: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *fp_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		fputs("firstpass: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *fp_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("firstpass: out of memory\n", stderr);
		abort();
	}
	return q;
}

char *fp_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = fp_xmalloc(n);
	memcpy(d, s, n);
	return d;
}

void fp_buf_init(struct fp_buf *b, size_t cap)
{
	memset(b, 0, sizeof *b);
	b->cap = cap;
}

int fp_buf_append(struct fp_buf *b, const void *p, size_t n)
{
	int rc = 0;
	if (n > b->cap - b->len) {
		n = b->cap - b->len;
		b->truncated = true;
		rc = -1;
	}
	if (b->len + n + 1 > b->alloc) {
		size_t want = b->alloc ? b->alloc : 256;
		while (want < b->len + n + 1)
			want *= 2;
		if (b->cap < SIZE_MAX && want > b->cap + 1)
			want = b->cap + 1;
		b->data = fp_xrealloc(b->data, want);
		b->alloc = want;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return rc;
}

int fp_buf_printf(struct fp_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof small)
		return fp_buf_append(b, small, (size_t)n);
	char *big = fp_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = fp_buf_append(b, big, (size_t)n);
	free(big);
	return rc;
}

void fp_buf_reset(struct fp_buf *b)
{
	b->len = 0;
	b->truncated = false;
	if (b->data)
		b->data[0] = '\0';
}

void fp_buf_free(struct fp_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

char *fp_buf_steal(struct fp_buf *b)
{
	char *d = b->data ? b->data : fp_strdup("");
	b->data = NULL;
	b->len = b->alloc = 0;
	b->truncated = false;
	return d;
}

int fp_read_file(const char *path, size_t cap, char **out, size_t *len,
                 struct fp_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fp_errf(err, "cannot open '%s': %s", path, strerror(errno));
	struct fp_buf b;
	fp_buf_init(&b, cap);
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			fp_buf_free(&b);
			return fp_errf(err, "cannot read '%s': %s", path, strerror(e));
		}
		if (n == 0)
			break;
		if (fp_buf_append(&b, chunk, (size_t)n) < 0) {
			close(fd);
			fp_buf_free(&b);
			return fp_errf(err, "'%s' is larger than %zu bytes", path, cap);
		}
	}
	close(fd);
	if (len)
		*len = b.len;
	*out = fp_buf_steal(&b);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fp_write_file_atomic(const char *path, const void *data, size_t len,
                         struct fp_err *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return fp_errf(err, "path too long: '%s'", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return fp_errf(err, "cannot create '%s': %s", tmp, strerror(errno));
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return fp_errf(err, "cannot write '%s': %s", tmp, strerror(e));
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return fp_errf(err, "cannot write '%s': %s", path, strerror(e));
	}
	return 0;
}

int fp_mkdirs(const char *path, struct fp_err *err)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof buf)
		return fp_errf(err, "bad directory path '%s'", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return fp_errf(err, "cannot create directory '%s': %s",
				               buf, strerror(errno));
			*p = c;
			if (c == '\0')
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return fp_errf(err, "'%s' is not a directory", path);
	return 0;
}

/* Removes everything below |dfd| (not |dfd| itself). Never follows
 * symlinks (unlinkat removes the link) and never crosses into another
 * filesystem (a mount inside would be left alone, not emptied). */
static int remove_below(int dfd, dev_t dev, int depth)
{
	if (depth > 128)
		return -1;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != dev) {
				rc = -1;
				continue;
			}
			int sub = openat(dirfd(d), e->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 || remove_below(sub, dev, depth + 1) < 0)
				rc = -1;
			if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0)
				rc = -1;
		} else if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

int fp_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = remove_below(fd, st.st_dev, 0);
	if (rmdir(path) < 0)
		rc = -1;
	return rc;
}

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t fp_now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

uint64_t fp_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}
