/* curl_dl.c - loads libcurl on demand (see curl_dl.h for why). */
#define FP_CURL_DL_IMPL
#include "curl_dl.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct fp_curl_api fp_curl;

static const struct { const char *name; size_t off; } syms[] = {
#define SYM(n, f) { n, offsetof(struct fp_curl_api, f) }
	SYM("curl_global_init", global_init),
	SYM("curl_easy_init", easy_init),
	SYM("curl_easy_cleanup", easy_cleanup),
	SYM("curl_easy_getinfo", easy_getinfo),
	SYM("curl_easy_setopt", easy_setopt),
	SYM("curl_easy_strerror", easy_strerror),
	SYM("curl_multi_add_handle", multi_add_handle),
	SYM("curl_multi_cleanup", multi_cleanup),
	SYM("curl_multi_info_read", multi_info_read),
	SYM("curl_multi_init", multi_init),
	SYM("curl_multi_remove_handle", multi_remove_handle),
	SYM("curl_multi_setopt", multi_setopt),
	SYM("curl_multi_socket_action", multi_socket_action),
	SYM("curl_slist_append", slist_append),
	SYM("curl_slist_free_all", slist_free_all),
#undef SYM
};

int fp_curl_load(struct fp_err *err)
{
	static bool loaded;
	if (loaded)
		return 0;
	/* RTLD_NOW: a missing symbol fails here, not in the middle of a run. */
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return fp_errf(err, "cannot load libcurl: %s", dlerror());
	for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
		void *p = dlsym(h, syms[i].name);
		if (!p)
			return fp_errf(err, "libcurl lacks '%s'", syms[i].name);
		memcpy((char *)&fp_curl + syms[i].off, &p, sizeof p);
	}
	if (fp_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fp_errf(err, "cannot initialise libcurl");
	loaded = true;
	return 0;
}
