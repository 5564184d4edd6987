/* daemon.c DIR TAG - the classic double fork + setsid. The grandchild
 * renames itself TAG (visible in the host's ps), writes its pid to
 * DIR/daemon.pid and appends a heartbeat line to DIR/heartbeat every
 * 100 ms forever. The original process waits until the grandchild has
 * written once, prints "daemon_started", and exits 0. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void grandchild(const char *dir, const char *tag, int ready_fd)
{
	char path[4096];
	prctl(PR_SET_NAME, tag, 0, 0, 0);
	snprintf(path, sizeof path, "%s/daemon.pid", dir);
	FILE *f = fopen(path, "we");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	snprintf(path, sizeof path, "%s/heartbeat", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0 && write(fd, "beat\n", 5) < 0)
		_exit(1);
	if (write(ready_fd, "r", 1) < 0)
		_exit(1);
	close(ready_fd);
	close(0);
	close(1);
	close(2);
	for (;;) {
		usleep(100000);
		if (fd >= 0 && write(fd, "beat\n", 5) < 0)
			_exit(1);
	}
}

int main(int argc, char **argv)
{
	int p[2];
	char c;
	if (argc != 3 || pipe(p) < 0)
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		setsid();
		if (fork() == 0)
			grandchild(argv[1], argv[2], p[1]);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		printf("daemon_failed\n");
		return 1;
	}
	printf("daemon_started\n");
	return 0;
}
