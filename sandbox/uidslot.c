/* uidslot.c - one host uid per box when firstpass runs as root.
 *
 * Commands of different boxes must not share a uid: the same uid could
 * signal or ptrace across boxes (were the namespaces ever shared) and
 * RLIMIT_NPROC counts per uid. A slot is a lock file; holding an flock on
 * it owns uid FP_UID_BASE + slot. The kernel releases the lock when the
 * holder dies, so a killed firstpass leaks nothing. The base is far above
 * any uid in /etc/passwd or the usual subuid ranges (100000 + 65536*n).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define FP_UID_BASE 1900000000u
#define FP_UID_SLOTS 4096u
#define FP_SLOT_DIR "/run/firstpass-uids"

int sbx_uidslot_acquire(uid_t *host_uid, int *lock_fd, struct sbx_error *err)
{
	if (mkdir(FP_SLOT_DIR, 0700) < 0 && errno != EEXIST)
		return sbx_err(err, errno, "cannot create '%s': %s", FP_SLOT_DIR,
		               strerror(errno));
	/* Start at a pid-dependent slot so concurrent firstpass processes
	 * rarely contend for the same lock files. */
	unsigned start = ((unsigned)getpid() * 97u) % FP_UID_SLOTS;
	for (unsigned i = 0; i < FP_UID_SLOTS; i++) {
		unsigned slot = (start + i) % FP_UID_SLOTS;
		char path[64];
		snprintf(path, sizeof path, FP_SLOT_DIR "/%u", slot);
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return sbx_err(err, errno, "cannot open '%s': %s", path,
			               strerror(errno));
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			*host_uid = FP_UID_BASE + slot;
			*lock_fd = fd;
			return 0;
		}
		close(fd);
	}
	return sbx_err(err, EAGAIN, "all %u sandbox uids are in use", FP_UID_SLOTS);
}
