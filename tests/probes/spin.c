/* spin.c [chain] - burn CPU forever.
 * With "chain", the first process only waits, while a child burns CPU and
 * hands the work to a fresh child every ~0.5 s of CPU before it exits: that
 * dodges any per-process RLIMIT_CPU, so only a box-wide CPU limit (or the
 * wall clock) stops it. */
#include <string.h>
#include <time.h>
#include <unistd.h>

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int chain = argc > 1 && !strcmp(argv[1], "chain");
	volatile unsigned long n = 0;
	if (chain && fork() > 0)
		for (;;)
			pause(); /* keep the box's main command alive */
	for (;;) {
		for (int i = 0; i < 1000000; i++)
			n++;
		if (chain && cpu_s() > 0.5) {
			pid_t pid = fork();
			if (pid > 0)
				_exit(0);
			/* the child starts with a fresh CPU clock */
		}
	}
}
