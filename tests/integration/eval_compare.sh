#!/bin/bash
# eval: comparison mode runs every candidate to its verdict and prints a
# table; --first-pass cancels the rest at the first pass; a hang without a
# winner ends at the policy's test timeout.
. "$(dirname "$0")/run_lib.sh"
C=$SRC/examples/notes/candidates

# 1. comparison mode: a directory and a JSON reply; both reach a verdict.
fp_run cmp eval --out "$T/cmp" --jobs 2 "$SRC/tests/fixtures/notes_app" "$C/03-failing-test.json"
check_eq "$rc" 0 "comparison exit code (one passed)"
R=$T/cmp/results.json
check_eq "$(jq_py "$R" 'd["command"]')" eval "command"
check_eq "$(jq_py "$R" '[c["id"] for c in d["candidates"]]')" "['notes_app', '03-failing-test']" "ids"
check_eq "$(jq_py "$R" '[c["verdict"] for c in d["candidates"]]')" "['passed', 'failed']" "verdicts"
check_eq "$(jq_py "$R" 'd["winner"]')" notes_app "winner"
grep -Eq '^notes_app +passed' "$T/cmp.out" || fail "table row for notes_app"
grep -Eq '^03-failing-test +failed +5 +1 ' "$T/cmp.out" || fail "table row for 03"

# 2. --first-pass: the hang is cancelled as soon as 06 passes.
start=$(date +%s)
fp_run fp eval --out "$T/fp" --jobs 2 --first-pass "$C/05-hang.json" "$C/06-correct.json"
check_eq "$rc" 0 "first-pass exit code"
R=$T/fp/results.json
check_eq "$(jq_py "$R" 'd["winner"]')" 06-correct "first-pass winner"
check_eq "$(jq_py "$R" '[c["verdict"] for c in d["candidates"]]')" "['cancelled', 'passed']" "first-pass verdicts"
check_eq "$(jq_py "$R" 'd["candidates"][0]["reason"]')" "06-correct passed first" "cancel reason"
check_match "$(jq_py "$R" 'd["cancel_latency_ms"] < 2000')" True "cancel latency under 2 s"
[ $(( $(date +%s) - start )) -lt 30 ] || fail "first-pass eval took 30 s or more"

# 3. no winner: a hang reaches the test timeout, exit 1.
short_policy "$T/short.json" 3
fp_run to eval --out "$T/to" --policy "$T/short.json" "$C/05-hang.json"
check_eq "$rc" 1 "timeout exit code"
R=$T/to/results.json
check_eq "$(jq_py "$R" 'd["winner"]')" None "no winner"
check_eq "$(jq_py "$R" 'd["candidates"][0]["verdict"]')" timeout "hang verdict"
check_eq "$(jq_py "$R" 'd["candidates"][0]["reason"]')" "test: wall-clock limit 3s exceeded" "hang reason"
check_eq "$(jq_py "$R" 'd["candidates"][0]["resources"]["wall_limit_hit"]')" True "wall_limit_hit"
finish
