/* caps.c - capabilities, with libcap. Both functions run in the child
 * between fork and exec, so they only make system calls through libcap
 * (no allocation: the empty cap_t is prepared before the fork). */
#include <sys/prctl.h>

#include "internal.h"

int sbx_caps_drop_bounding(void)
{
	/* The bounding set limits what any later exec could regain (file
	 * capabilities); it needs CAP_SETPCAP, so this must precede setuid. */
	cap_value_t n = (cap_value_t)cap_max_bits();
	for (cap_value_t c = 0; c < n; c++)
		if (cap_drop_bound(c) < 0)
			return -1;
	/* Ambient capabilities survive execve for unprivileged programs. */
	if (cap_reset_ambient() < 0)
		return -1;
	return 0;
}

int sbx_caps_clear(cap_t empty)
{
	/* After setresuid to a non-zero uid from the overflow uid of init the
	 * kernel does not clear capabilities by itself: clear them here. */
	return cap_set_proc(empty);
}
