/* fuzz_openai.c - libFuzzer target for the OpenAI reply-body parser
 * (fp_openai_parse_reply), fed every input as a Responses API body and as a
 * Chat Completions body. The body comes off the network: hostile proxies,
 * cut replies and compatible-but-different servers all land here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gen_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void openai_one(int chat, const uint8_t *data, size_t size)
{
	struct fp_err err = { { 0 } };
	char *text = (char *)1; /* must be overwritten whatever happens */
	int rc;

	rc = fp_openai_parse_reply(chat, (const char *)data, size, &text, &err);
	if ((rc == 0) != (text != NULL) || (rc != 0 && rc != -1 && rc != -2) ||
	    (rc != 0 && !err.msg[0])) {
		fprintf(stderr, "fuzz_openai: chat=%d rc=%d text=%p msg='%s'\n",
		        chat, rc, (void *)text, err.msg);
		abort();
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	openai_one(0, data, size);
	openai_one(1, data, size);
	return 0;
}
