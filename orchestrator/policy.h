/* policy.h - policy files (JSON with // and block comments) -> a sandbox
 * spec plus the orchestrator's own limits. See README "Policy format". */
#ifndef FP_POLICY_H
#define FP_POLICY_H

#include <stdint.h>
#include <stdio.h>
#include "candidate.h"
#include "sandbox.h"
#include "util.h"

struct fp_policy {
	char *name;            /* owned: "name" field or the file's stem */
	char *origin;          /* owned: path it was loaded from */
	struct sbx_spec *spec; /* owned: mounts, limits, seccomp, uid, hostname;
	                          no workspace yet (set per box) */
	char **env;            /* owned, NULL-terminated "KEY=VALUE" list */
	char *python;          /* owned: interpreter for candidates,
	                          default "/usr/bin/python3" */
	char *workspace_path;  /* owned: inside path, default "/work" */
	enum sbx_workspace_mode workspace_mode; /* default SBX_WS_OVERLAY */
	char *wheelhouse;      /* owned or NULL: local wheel dir (offline pip) */
	struct sbx_limits limits; /* as given to the spec */
	uint64_t wall_ms;      /* whole box wall clock, default 300 s */
	uint64_t cpu_ms;       /* whole box CPU time, default 120 s */
	uint64_t output_bytes; /* per captured stream, default 1 MiB */
	uint64_t start_timeout_ms; /* app must listen within, default 30 s */
	uint64_t probe_timeout_ms; /* default 5 s */
	uint64_t test_timeout_ms;  /* default 180 s */
	struct fp_cand_limits cand; /* candidate size limits */
};

/* Finds |name_or_path|: a path if it contains '/' or ends in ".json",
 * otherwise NAME.json in $FIRSTPASS_POLICY_DIR, the installed policies
 * directory, then the source tree's policies/ (for build-dir binaries). */
int fp_policy_resolve(const char *name_or_path, char *out, size_t outlen,
                      struct fp_err *err);
/* Loads and validates. Errors name the file, the line and the field:
 * "policies/x.json:12: limits.memory_mb: expected a positive integer". */
int fp_policy_load(const char *name_or_path, struct fp_policy *out,
                   struct fp_err *err);
int fp_policy_parse(const char *text, size_t len, const char *origin,
                    struct fp_policy *out, struct fp_err *err);
void fp_policy_free(struct fp_policy *p); /* frees members; NULL ok */
/* Human summary of what the policy allows ("policy check" output). */
void fp_policy_describe(const struct fp_policy *p, FILE *out);

#endif
