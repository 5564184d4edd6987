#!/bin/bash
# The command line: help, version, usage errors exit 2 with a hint.
. "$(dirname "$0")/run_lib.sh"
fp_run help --help
check_eq "$rc" 0 "--help"
for c in run eval sandbox batch merge policy; do
	grep -q "^  $c " "$T/help.out" || fail "--help lists $c"
done
fp_run ver --version
check_eq "$rc" 0 "--version"
check_match "$(cat "$T/ver.out")" '^firstpass [0-9]+\.[0-9]+' "version text"
fp_run rh run --help
check_eq "$rc" 0 "run --help"
grep -q -- "--candidates" "$T/rh.out" || fail "run --help lists --candidates"
fp_run bad run --bogus
check_eq "$rc" 2 "unknown flag"
grep -q "firstpass run --help" "$T/bad.err" || fail "hint after a usage error"
fp_run badn run --candidates zero
check_eq "$rc" 2 "bad number"
fp_run evn eval
check_eq "$rc" 2 "eval without candidates"
fp_run evg eval --goal x y
check_eq "$rc" 2 "eval rejects run's flags"
fp_run goal run --goal "$T/nonexistent.md" --generator "replay:$T"
check_eq "$rc" 2 "unreadable goal"
fp_run pol eval --policy "$T/nonexistent.json" x
check_eq "$rc" 2 "bad policy"
fp_run probe run --probe "GET notes" --generator "replay:$T"
check_eq "$rc" 2 "bad probe"
fp_run batch batch x
check_eq "$rc" 2 "batch without --out"
grep -q -- "--out" "$T/batch.err" || fail "batch message names --out"
fp_run unk frobnicate
check_eq "$rc" 2 "unknown command"
finish
