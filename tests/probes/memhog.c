/* memhog.c - allocate and touch memory in 64 MiB steps up to 4 GiB,
 * printing progress ("allocated N MiB"), then "done". A working memory
 * limit kills it long before "done". */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define STEP_BYTES (64UL << 20)
#define MAX_STEPS 64

/* Kept reachable through a volatile global so the compiler cannot drop the
 * allocations as unused. */
static char *volatile chunks[MAX_STEPS];

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 0; i < MAX_STEPS; i++) {
		char *p = malloc(STEP_BYTES);
		if (!p) {
			printf("malloc_failed at %lu MiB\n", (unsigned long)i * 64);
			return 1;
		}
		for (size_t off = 0; off < STEP_BYTES; off += (size_t)page)
			((volatile char *)p)[off] = (char)(off | 1);
		chunks[i] = p;
		printf("allocated %lu MiB\n", (unsigned long)(i + 1) * 64);
	}
	unsigned sum = 0;
	for (int i = 0; i < MAX_STEPS; i++)
		sum += (unsigned char)chunks[i][i * 4096];
	printf("done %u\n", sum);
	return 0;
}
