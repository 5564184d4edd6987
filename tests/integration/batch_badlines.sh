#!/bin/bash
# Bad task lines are reported with file:line and skipped, the rest runs
# (exit 1: not every line ran); each shard reports only its own bad lines;
# a directory refuses another tasks file or another shard; usage errors
# exit 2.
. "$(dirname "$0")/run_lib.sh"
. "$(dirname "$0")/batch_lib.sh"
make_fixtures
cat >"$W/tasks.jsonl" <<'JSONL'
{"id": "ok", "goal": "notes", "generator": "replay:pass", "rounds": 1}
{"id": "t2", "goall": "typo"}
not json at all

{"id": "bad id!", "goal": "x"}
{"id": "ok", "goal": "duplicate id"}
{"id": "t7", "generator": "replay:pass"}
{"id": "t8", "compare": ["a.json"], "generator": "replay:pass"}
{"id": "t9", "goal": "x", "candidates": 0}
[1, 2]
{"goal": "notes", "generator": "replay:fail", "rounds": 1}
JSONL

fp_run b batch "$W/tasks.jsonl" --out "$T/out"
check_eq "$rc" 1 "exit code with bad lines"
expect_err() { grep -qF -- "$1" "$T/b.err" || fail "stderr lacks: $1"; }
expect_err "firstpass: batch: tasks.jsonl:2: unknown field 'goall'"
expect_err "tasks.jsonl:3: invalid JSON"
expect_err "tasks.jsonl:5: bad id 'bad id!'"
expect_err "tasks.jsonl:6: duplicate id 'ok' (first on line 1)"
expect_err "tasks.jsonl:7: missing 'goal', 'goal_file' or 'compare'"
expect_err "tasks.jsonl:8: field 'generator' does not apply to a 'compare' task"
expect_err "tasks.jsonl:9: field 'candidates': expected an integer from 1 to 1000"
expect_err "tasks.jsonl:10: expected a JSON object"
grep -q "tasks.jsonl:4:" "$T/b.err" && fail "a blank line was reported"
check_eq "$(jsonl_ids "$T/out/batch.jsonl" | sort | tr '\n' ' ')" "line-11 ok " "good lines ran"
check_eq "$(rows "$T/out/results.json" | tr '\n' ' ')" "line-11 False None ok True r1-c1 " "results of the good lines"
check_eq "$(jq_py "$T/out/results.json" 'd["bad_lines"]')" 8 "bad line count"

# Shard 2/2 holds lines 2 4 6 8 10: only those are reported there.
fp_run s2 batch "$W/tasks.jsonl" --out "$T/s2" --shard 2/2
check_eq "$rc" 1 "shard exit code with bad lines"
check_eq "$(grep -o 'tasks.jsonl:[0-9]*' "$T/s2.err" | tr '\n' ' ')" \
	"tasks.jsonl:2 tasks.jsonl:8 tasks.jsonl:10 tasks.jsonl:6 " "shard 2 reports its own lines"
check_eq "$(jq_py "$T/s2/results.json" 'd["tasks_total"]')" 0 "shard 2 has no good task"

# The directory belongs to one tasks file and one shard.
fp_run again batch "$W/tasks.jsonl" --out "$T/out" --shard 1/2
check_eq "$rc" 2 "other shard refused"
grep -q "holds shard 1/1 of this batch, not 1/2" "$T/again.err" || fail "shard refusal message: $(cat "$T/again.err")"
head -n 1 "$W/tasks.jsonl" >"$W/other.jsonl"
fp_run other batch "$W/other.jsonl" --out "$T/out"
check_eq "$rc" 2 "other tasks file refused"
grep -q "holds a batch of a different tasks file" "$T/other.err" || fail "file refusal message: $(cat "$T/other.err")"

fp_run u1 batch "$W/tasks.jsonl"
check_eq "$rc" 2 "missing --out"
fp_run u2 batch "$W/tasks.jsonl" --out "$T/u" --shard 3/2
check_eq "$rc" 2 "bad --shard"
fp_run u3 batch "$W/nonexistent.jsonl" --out "$T/u"
check_eq "$rc" 2 "missing tasks file"
fp_run u4 merge "$T/out"
check_eq "$rc" 2 "merge without --out"
fp_run u5 merge "$W" --out "$T/u5"
check_eq "$rc" 2 "merge of a non-batch dir"
fp_run h batch --help
check_eq "$rc" 0 "batch --help"
grep -q "shard" "$T/h.out" || fail "help mentions --shard"
finish
