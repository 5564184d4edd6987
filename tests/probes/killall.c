/* killall.c - kill(-1, SIGKILL): every process this one may signal, then
 * report "killall rc=R errno=E" and stay alive a moment so the caller can
 * see the report. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	errno = 0;
	int rc = kill(-1, SIGKILL);
	const char *en = strerrorname_np(errno);
	printf("killall rc=%d errno=%s\n", rc, rc < 0 && en ? en : "none");
	fflush(stdout);
	usleep(200000);
	return 0;
}
