/* fuzz_extract.c - libFuzzer target for the model-output extractor and the
 * file-map validator (fp_cand_from_text with default limits).
 *
 * Beyond "no crash, no leak", it checks what candidate.h promises about an
 * accepted map, because a map that breaks those promises is written to disk
 * next: every path passes fp_cand_check_path, paths are strictly sorted (so
 * no duplicates), no path is a directory prefix of another, every limit
 * holds, and serialising the map and parsing it back gives the same hash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void extract_fail(const char *what, const char *path)
{
	fprintf(stderr, "fuzz_extract: invariant broken: %s ('%s')\n", what,
	        path ? path : "");
	abort();
}

/* "a" followed by "a/..." in sorted order means a is both file and dir. */
static int extract_is_dir_prefix(const char *a, const char *b)
{
	size_t n = strlen(a);

	return strncmp(a, b, n) == 0 && b[n] == '/';
}

static void extract_check_map(const struct fp_filemap *m,
                      const struct fp_cand_limits *l)
{
	size_t i, total = 0;
	struct fp_err err;

	if (m->n == 0 || m->n > l->max_files)
		extract_fail("file count outside 1..max_files", NULL);
	for (i = 0; i < m->n; i++) {
		const struct fp_file *f = &m->files[i];

		if (fp_cand_check_path(f->path, l, &err) < 0)
			extract_fail("accepted path fails fp_cand_check_path",
			             f->path);
		if (f->len > l->max_file_bytes)
			extract_fail("file over max_file_bytes", f->path);
		total += f->len;
		if (i > 0 && strcmp(m->files[i - 1].path, f->path) >= 0)
			extract_fail("paths not strictly sorted", f->path);
		/* A directory prefix sorts right before its children, but
		 * "a-b" sorts between "a" and "a/b": scan all earlier ones. */
		for (size_t j = 0; j < i; j++)
			if (extract_is_dir_prefix(m->files[j].path, f->path))
				extract_fail("path is also a directory", f->path);
	}
	if (total > l->max_total_bytes)
		extract_fail("total over max_total_bytes", NULL);
}

static void extract_round_trip(const struct fp_filemap *m,
                             const struct fp_cand_limits *l)
{
	struct fp_filemap again = { 0 };
	struct fp_err err;
	char h1[65], h2[65];
	char *json = fp_filemap_to_json(m);

	if (!json)
		extract_fail("fp_filemap_to_json returned NULL", NULL);
	if (fp_cand_parse(json, strlen(json), l, &again, &err) < 0) {
		fprintf(stderr, "reparse: %s\n", err.msg);
		extract_fail("serialised map does not parse back", NULL);
	}
	fp_filemap_sha256(m, h1);
	fp_filemap_sha256(&again, h2);
	if (strcmp(h1, h2) != 0)
		extract_fail("round trip changes the map", NULL);
	fp_filemap_free(&again);
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fp_cand_limits l;
	struct fp_filemap m = { 0 };
	struct fp_err err = { { 0 } };

	fp_cand_limits_default(&l);
	/* Pass libFuzzer's buffer as is: it is exactly |size| bytes with no
	 * NUL after it, so any read past len is an ASan report. */
	if (fp_cand_from_text((const char *)data, size, &l, &m, &err) == 0) {
		extract_check_map(&m, &l);
		extract_round_trip(&m, &l);
	} else if (!err.msg[0]) {
		extract_fail("error without a message", NULL);
	}
	fp_filemap_free(&m);
	return 0;
}
