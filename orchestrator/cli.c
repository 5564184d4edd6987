/* cli.c - `firstpass <command> [flags]`: dispatch, --help, --version. Each
 * command parses its own flags (getopt_long) and picks its exit code. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef FP_VERSION
#define FP_VERSION "0.0.0"
#endif

static const char usage[] =
	"usage: firstpass <command> [flags]\n"
	"\n"
	"Runs untrusted, generated Python repositories in Linux sandboxes,\n"
	"several candidates in parallel, and keeps the first whose tests pass.\n"
	"\n"
	"commands:\n"
	"  run       goal -> rounds of N parallel candidates -> first passing one\n"
	"  eval      CANDIDATE... -> sandboxed start + tests of existing ones\n"
	"  sandbox   [--policy P] [--workspace DIR] -- CMD [ARG...]\n"
	"  batch     TASKS.jsonl --out DIR [--shard K/N | --slurm N]: many\n"
	"            goals or candidate sets, resumable\n"
	"  merge     DIR... --out OUT: merge batch shard outputs\n"
	"  policy    check FILE: validate a policy and print what it allows\n"
	"\n"
	"'firstpass <command> --help' describes a command's flags.\n"
	"Environment: OPENAI_API_KEY, OPENAI_BASE_URL, FIRSTPASS_POLICY_DIR.\n"
	"Exit status: 0 a candidate passed, 1 none passed, 2 usage or\n"
	"configuration error, 3 the sandbox cannot be set up on this host.\n";

struct fp_command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct fp_command commands[] = {
	{ "run", fp_cmd_run },
	{ "eval", fp_cmd_eval },
	{ "sandbox", fp_cmd_sandbox },
	{ "policy", fp_cmd_policy },
	{ "batch", fp_cmd_batch },
	{ "merge", fp_cmd_merge },
};

int fp_main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage, stderr);
		return FP_EXIT_USAGE;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return FP_EXIT_PASS;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("firstpass %s\n", FP_VERSION);
		return FP_EXIT_PASS;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		/* the command sees itself as argv[0], like a program */
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "firstpass: unknown command '%s'\n"
	        "Try 'firstpass --help'.\n", cmd);
	return FP_EXIT_USAGE;
}
