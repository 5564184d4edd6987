/* cli.h - the commands. Only these pick exit codes. */
#ifndef FP_CLI_H
#define FP_CLI_H

enum fp_exit {
	FP_EXIT_PASS = 0,  /* a candidate passed (sandbox: the command's code) */
	FP_EXIT_NONE = 1,  /* none passed */
	FP_EXIT_USAGE = 2, /* usage or configuration error */
	FP_EXIT_HOST = 3,  /* the sandbox cannot be set up on this host */
};

int fp_main(int argc, char **argv);             /* cli.c: dispatch */
int fp_cmd_sandbox(int argc, char **argv);      /* cmd_sandbox.c */
int fp_cmd_policy(int argc, char **argv);       /* cmd_policy.c */
int fp_cmd_run(int argc, char **argv);          /* cmd_run.c: run */
int fp_cmd_eval(int argc, char **argv);         /* cmd_run.c: eval */
int fp_cmd_batch(int, char **);                 /* batch.c: batch */
int fp_cmd_merge(int, char **);                 /* batch.c: merge */

#endif
