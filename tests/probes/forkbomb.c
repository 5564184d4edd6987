/* forkbomb.c - fork forever; every child keeps forking too and then stays
 * alive, so the box fills up with processes until a limit stops it.
 * The first process prints how many children it made before fork failed
 * ("fork_failed errno=EAGAIN children=N") and then keeps retrying, so only
 * the sandbox's limits end it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	pid_t self = getpid();
	long children = 0;
	int reported = 0;
	setvbuf(stdout, NULL, _IONBF, 0);
	for (;;) {
		pid_t pid = fork();
		if (pid == 0) {
			children = 0; /* a child carries on with the same loop */
			continue;
		}
		if (pid > 0) {
			children++;
			continue;
		}
		if (getpid() == self && !reported) {
			printf("fork_failed errno=%s children=%ld\n",
			       strerrorname_np(errno), children);
			reported = 1;
		}
		usleep(10000);
	}
}
