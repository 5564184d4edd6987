/* caps.c - print the capability sets, NoNewPrivs and Seccomp lines of
 * /proc/self/status, then "uid=R/E/S gid=R/E/S groups=N...". */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	static const char *keys[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:",
	                              "CapAmb:", "NoNewPrivs:", "Seccomp:" };
	char line[512];
	FILE *f = fopen("/proc/self/status", "re");
	if (!f) {
		perror("/proc/self/status");
		return 1;
	}
	while (fgets(line, sizeof line, f))
		for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
			if (!strncmp(line, keys[i], strlen(keys[i])))
				fputs(line, stdout);
	fclose(f);
	uid_t r, e, s;
	gid_t gr, ge, gs;
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	printf("uid=%u/%u/%u gid=%u/%u/%u groups=", r, e, s, gr, ge, gs);
	gid_t groups[64];
	int n = getgroups(64, groups);
	for (int i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", groups[i]);
	printf("\n");
	return 0;
}
