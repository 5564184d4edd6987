/* cmd_policy.c - "firstpass policy check FILE|NAME" and "policy list". */
#include "cli.h"
#include "policy.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FP_INSTALL_POLICY_DIR
#define FP_INSTALL_POLICY_DIR ""
#endif
#ifndef FP_SOURCE_POLICY_DIR
#define FP_SOURCE_POLICY_DIR ""
#endif

static const char usage[] =
	"usage: firstpass policy check FILE|NAME\n"
	"       firstpass policy list\n"
	"\n"
	"check  validate a policy and print what it allows: mounts, files,\n"
	"       environment, limits, timeouts and every seccomp rule with its\n"
	"       reason. Exit 0 if valid, 2 if not (the error names\n"
	"       file:line: field).\n"
	"list   the policies found by --policy NAME, in search order:\n"
	"       $FIRSTPASS_POLICY_DIR, the installed policies directory, the\n"
	"       source tree's policies/. An earlier one shadows a later one\n"
	"       of the same name.\n"
	"\n"
	"A policy is JSON with // and block comments. See policies/default.json\n"
	"for every field, each explained.\n";

static int policy_check(const char *what)
{
	struct fp_policy p;
	struct fp_err err;

	if (fp_policy_load(what, &p, &err) < 0) {
		fprintf(stderr, "firstpass: policy: %s\n", err.msg);
		return FP_EXIT_USAGE;
	}
	fp_policy_describe(&p, stdout);
	printf("valid: %s\n", p.origin);
	fp_policy_free(&p);
	return fflush(stdout) == 0 ? FP_EXIT_PASS : FP_EXIT_USAGE;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json names of |dir|, sorted; NULL-terminated, caller frees. */
static char **json_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;

	if (!d)
		return NULL;
	while ((de = readdir(d)) && n < 1000) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		v = fp_xrealloc(v, (n + 2) * sizeof(char *));
		v[n++] = fp_strdup(de->d_name);
		v[n] = NULL;
	}
	closedir(d);
	if (v)
		qsort(v, n, sizeof(char *), cmp_str);
	return v;
}

/* One line: name, path, and "ok" or the error. */
static void list_one(const char *dir, const char *file, bool shadowed)
{
	char path[PATH_MAX], name[256];
	struct fp_policy p;
	struct fp_err err;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(name, sizeof(name), "%.*s", (int)(strlen(file) - 5), file);
	if (shadowed) {
		printf("%-16s %s  (shadowed by the one above)\n", name, path);
		return;
	}
	if (fp_policy_load(path, &p, &err) < 0) {
		printf("%-16s %s  INVALID: %s\n", name, path, err.msg);
		return;
	}
	printf("%-16s %s\n", name, path);
	fp_policy_free(&p);
}

static bool seen_before(char **const *lists, size_t upto, const char *file)
{
	for (size_t i = 0; i < upto; i++)
		for (size_t k = 0; lists[i] && lists[i][k]; k++)
			if (strcmp(lists[i][k], file) == 0)
				return true;
	return false;
}

static int policy_list(void)
{
	const char *dirs[] = { getenv("FIRSTPASS_POLICY_DIR"),
		               FP_INSTALL_POLICY_DIR, FP_SOURCE_POLICY_DIR };
	char **lists[3] = { NULL, NULL, NULL };
	size_t found = 0;

	for (size_t i = 0; i < 3; i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		lists[i] = json_files(dirs[i]);
		for (size_t k = 0; lists[i] && lists[i][k]; k++, found++)
			list_one(dirs[i], lists[i][k],
			         seen_before(lists, i, lists[i][k]));
	}
	for (size_t i = 0; i < 3; i++) {
		for (size_t k = 0; lists[i] && lists[i][k]; k++)
			free(lists[i][k]);
		free(lists[i]);
	}
	if (!found) {
		fprintf(stderr, "firstpass: policy: no policies found (set "
		                "FIRSTPASS_POLICY_DIR)\n");
		return FP_EXIT_USAGE;
	}
	return FP_EXIT_PASS;
}

static bool is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 ||
	       strcmp(s, "help") == 0;
}

int fp_cmd_policy(int argc, char **argv)
{
	/* Accept argv with or without the command name in front. */
	if (argc > 0 && strcmp(argv[0], "policy") == 0) {
		argc--;
		argv++;
	}
	if (argc >= 1 && is_help(argv[0])) {
		fputs(usage, stdout);
		return FP_EXIT_PASS;
	}
	if (argc == 2 && strcmp(argv[0], "check") == 0 && is_help(argv[1])) {
		fputs(usage, stdout);
		return FP_EXIT_PASS;
	}
	if (argc == 2 && strcmp(argv[0], "check") == 0)
		return policy_check(argv[1]);
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return policy_list();
	fputs(usage, stderr);
	return FP_EXIT_USAGE;
}
