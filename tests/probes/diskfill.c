/* diskfill.c DIR - fill DIR: one big file in 1 MiB writes until a write
 * fails, then many 4 KiB files until one fails. Prints
 *   big_error=ENOSPC big_bytes=N files_error=ENOSPC files=N total_bytes=N
 * SIGXFSZ is ignored so RLIMIT_FSIZE shows up as EFBIG. Stops by itself at
 * 4 GiB so a missing limit cannot fill the host disk. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SAFETY_BYTES (4ULL << 30)

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "unknown";
}

static unsigned long long fill_big(const char *dir, int *err)
{
	static char buf[1 << 20];
	char path[4096];
	unsigned long long bytes = 0;
	memset(buf, 'x', sizeof buf);
	snprintf(path, sizeof path, "%s/big.bin", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		*err = errno;
		return 0;
	}
	*err = 0;
	while (bytes < SAFETY_BYTES) {
		ssize_t n = write(fd, buf, sizeof buf);
		if (n < 0) {
			*err = errno;
			break;
		}
		if (n == 0) {
			*err = ENOSPC;
			break;
		}
		bytes += (unsigned long long)n;
	}
	if (close(fd) < 0 && !*err)
		*err = errno;
	return bytes;
}

static unsigned long long fill_small(const char *dir, long *files, int *err,
                                     unsigned long long budget)
{
	static char buf[4096];
	char path[4096];
	unsigned long long bytes = 0;
	memset(buf, 'y', sizeof buf);
	*err = 0;
	for (*files = 0; bytes < budget && *files < 1000000; (*files)++) {
		snprintf(path, sizeof path, "%s/small-%ld", dir, *files);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			*err = errno;
			break;
		}
		ssize_t n = write(fd, buf, sizeof buf);
		int werr = n < 0 ? errno : (n < (ssize_t)sizeof buf ? ENOSPC : 0);
		close(fd);
		if (n > 0)
			bytes += (unsigned long long)n;
		if (werr) {
			*err = werr;
			break;
		}
	}
	return bytes;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: diskfill DIR\n");
		return 2;
	}
	signal(SIGXFSZ, SIG_IGN);
	int big_err, small_err;
	long files = 0;
	unsigned long long big = fill_big(argv[1], &big_err);
	unsigned long long small = 0;
	if (big < SAFETY_BYTES)
		small = fill_small(argv[1], &files, &small_err, SAFETY_BYTES - big);
	else
		small_err = 0;
	printf("big_error=%s big_bytes=%llu files_error=%s files=%ld "
	       "total_bytes=%llu\n", big_err ? ename(big_err) : "none", big,
	       small_err ? ename(small_err) : "none", files, big + small);
	return 0;
}
