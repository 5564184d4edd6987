/* curl_dl.h - libcurl, loaded when the first HTTP generator opens.
 *
 * Why: linking libcurl makes the dynamic loader run the constructors of
 * its whole dependency chain (GnuTLS, OpenSSL, Kerberos, LDAP ... 30
 * libraries) at every start: 3.1 ms measured here, against 0.4 ms for a
 * bare program. `firstpass sandbox` and replay runs never speak HTTP, and
 * sandbox start-up is benchmarked against bubblewrap. So the library is
 * dlopen()ed on demand and the code calls it through this table; include
 * this after <curl/curl.h> and the usual names resolve to the table.
 */
#ifndef FP_CURL_DL_H
#define FP_CURL_DL_H

#include <curl/curl.h>
#include "util.h"

struct fp_curl_api {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	const char *(*easy_strerror)(CURLcode c);
	CURLMcode (*multi_add_handle)(CURLM *m, CURL *h);
	CURLMcode (*multi_cleanup)(CURLM *m);
	CURLMsg *(*multi_info_read)(CURLM *m, int *left);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_remove_handle)(CURLM *m, CURL *h);
	CURLMcode (*multi_setopt)(CURLM *m, CURLMoption opt, ...);
	CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t s, int ev,
	                                 int *running);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

extern struct fp_curl_api fp_curl;

/* Loads libcurl.so.4 and curl_global_init()s it, once. */
int fp_curl_load(struct fp_err *err);

#ifndef FP_CURL_DL_IMPL
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init (*fp_curl.global_init)
#define curl_easy_init (*fp_curl.easy_init)
#define curl_easy_cleanup (*fp_curl.easy_cleanup)
#define curl_easy_getinfo (*fp_curl.easy_getinfo)
#define curl_easy_setopt (*fp_curl.easy_setopt)
#define curl_easy_strerror (*fp_curl.easy_strerror)
#define curl_multi_add_handle (*fp_curl.multi_add_handle)
#define curl_multi_cleanup (*fp_curl.multi_cleanup)
#define curl_multi_info_read (*fp_curl.multi_info_read)
#define curl_multi_init (*fp_curl.multi_init)
#define curl_multi_remove_handle (*fp_curl.multi_remove_handle)
#define curl_multi_setopt (*fp_curl.multi_setopt)
#define curl_multi_socket_action (*fp_curl.multi_socket_action)
#define curl_slist_append (*fp_curl.slist_append)
#define curl_slist_free_all (*fp_curl.slist_free_all)
#endif

#endif
