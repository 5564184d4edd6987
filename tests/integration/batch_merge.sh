#!/bin/bash
# batch --shard K/N + merge equals the unsharded batch (same task ids, same
# pass results and winners); merge refuses shards of another tasks file,
# the same shard twice and shards of different N; a missing shard gives a
# partial result with exit 1.
. "$(dirname "$0")/run_lib.sh"
. "$(dirname "$0")/batch_lib.sh"
make_fixtures
cat >"$W/tasks.jsonl" <<JSONL
{"id": "a", "goal": "notes", "generator": "replay:pass", "rounds": 1}
{"id": "b", "goal": "notes", "generator": "replay:fail", "rounds": 1}
{"id": "c", "compare": ["fail/03-failing-test.json", "$EX/06-correct.json"]}
{"id": "d", "compare": ["fail/03-failing-test.json"], "policy": "default"}
{"id": "e", "goal": "notes", "generator": "replay:pass", "rounds": 1}
JSONL

fp_run full batch "$W/tasks.jsonl" --out "$T/full" --parallel-tasks 2 --jobs 2
check_eq "$rc" 0 "unsharded exit code"
fp_run s1 batch "$W/tasks.jsonl" --out "$T/s1" --shard 1/2 --parallel-tasks 2 --jobs 2
check_eq "$rc" 0 "shard 1/2 exit code"
fp_run s2 batch "$W/tasks.jsonl" --out "$T/s2" --shard 2/2 --parallel-tasks 2 --jobs 2
check_eq "$rc" 0 "shard 2/2 exit code"
# line index i belongs to shard i % 2 + 1: a c e / b d
check_eq "$(jsonl_ids "$T/s1/batch.jsonl" | sort | tr '\n' ' ')" "a c e " "shard 1 tasks"
check_eq "$(jsonl_ids "$T/s2/batch.jsonl" | sort | tr '\n' ' ')" "b d " "shard 2 tasks"

fp_run merge merge "$T/s2" "$T/s1" --out "$T/merged"
check_eq "$rc" 0 "merge exit code"
check_eq "$(rows "$T/merged/results.json")" "$(rows "$T/full/results.json")" "merged rows equal unsharded rows"
check_eq "$(rows "$T/full/results.json" | tr '\n' ' ')" \
	"a True r1-c1 b False None c True 06-correct d False None e True r1-c1 " "unsharded verdicts"
check_eq "$(jq_py "$T/merged/results.json" '(d["command"], d["tasks_total"], d["tasks_done"], d["tasks_passed"], d["complete"])')" \
	"('merge', 5, 5, 3, True)" "merged totals"
check_eq "$(jq_py "$T/merged/results.json" 'round(d["pass_rate"], 3)')" 0.6 "merged pass rate"
check_eq "$(jq_py "$T/merged/results.json" 'd["by_generator"]["replay:pass"]["passed"]')" 2 "pass rate by generator"
check_eq "$(jsonl_ids "$T/merged/batch.jsonl" | tr '\n' ' ')" "a b c d e " "merged batch.jsonl in line order"
[ -s "$T/merged/report.html" ] || fail "merge wrote no report.html"
check_eq "$(jq_py "$T/merged/results.json" '[t["dir"] for t in d["tasks"]][0]')" "$T/s1/tasks/a" "row dir points into the shard"

# Refusals (exit 2, nothing written).
printf '{"id": "z", "goal": "other", "generator": "replay:pass", "rounds": 1}\n' >"$W/other.jsonl"
fp_run other batch "$W/other.jsonl" --out "$T/other2" --shard 2/2
check_eq "$rc" 0 "empty shard of another file"
fp_run m_other merge "$T/s1" "$T/other2" --out "$T/m_other"
check_eq "$rc" 2 "merge of another tasks file refused"
grep -q "different tasks file" "$T/m_other.err" || fail "message names the different tasks file: $(cat "$T/m_other.err")"
[ -e "$T/m_other/results.json" ] && fail "refused merge wrote results"
cp -a "$T/s1" "$T/s1copy"
fp_run m_dup merge "$T/s1" "$T/s1copy" --out "$T/m_dup"
check_eq "$rc" 2 "duplicate shard refused"
grep -q "both shard 1/2" "$T/m_dup.err" || fail "message names the duplicate shard: $(cat "$T/m_dup.err")"
fp_run m_n merge "$T/s1" "$T/full" --out "$T/m_n"
check_eq "$rc" 2 "shards of different N refused"
fp_run m_self merge "$T/s1" "$T/s2" --out "$T/s1"
check_eq "$rc" 2 "merge into a shard dir refused"

# A missing shard: partial result, exit 1.
fp_run m_part merge "$T/s1" --out "$T/m_part"
check_eq "$rc" 1 "partial merge exit code"
check_eq "$(jq_py "$T/m_part/results.json" '(d["tasks_done"], d["complete"])')" "(3, False)" "partial merge totals"
finish
