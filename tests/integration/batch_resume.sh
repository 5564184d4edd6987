#!/bin/bash
# Resume after kill -9: kill the batch while a task's sandbox runs (t3, a
# candidate whose tests hang for 15 s, so a task process orphaned by the
# kill would still be there), after two tasks finished; no process of the
# killed tree survives the next 3 s; a
# torn last line of batch.jsonl is cut; the rerun records every task
# exactly once and does not redo the finished ones (their results.json
# keeps its inode and mtime).
. "$(dirname "$0")/run_lib.sh"
. "$(dirname "$0")/batch_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
make_fixtures
mkdir -p "$W/hang"
cp "$EX/05-hang.json" "$W/hang/"
short_policy "$W/short.json" 15
for i in 1 2 3 4 5 6; do
	g=pass; [ $i = 4 ] && g=fail
	[ $i = 3 ] && { echo '{"id": "t3", "goal": "notes", "generator": "replay:hang", "rounds": 1, "policy": "short.json"}'; continue; }
	echo "{\"id\": \"t$i\", \"goal\": \"notes\", \"generator\": \"replay:$g\", \"rounds\": 1}"
done >"$W/tasks.jsonl"
OUT=$T/out

"$FP" batch "$W/tasks.jsonl" --out "$OUT" --jobs 1 >"$T/b1.out" 2>"$T/b1.err" &
BPID=$!
"$PY" "$HERE/batch_procs.py" kill-when-busy "$BPID" "$OUT/batch.jsonl" 2 "$T/snap" ||
	{ fail "could not kill the batch at a busy moment"; cat "$T/b1.err"; finish; }
wait "$BPID" 2>/dev/null
"$PY" "$HERE/batch_procs.py" survivors "$T/snap" || fail "processes of the killed batch survive"
awk -v b="$BPID" '$1 != b && $4 == "firstpass"' "$T/snap" | grep -q . || fail "snapshot has no task process (nothing was running?)"
if [ "$(id -u)" = 0 ]; then
	awk '$3 >= 1900000000' "$T/snap" | grep -q . || fail "snapshot has no sandbox process"
fi

mapfile -t done_before < <(jsonl_ids "$OUT/batch.jsonl")
[ "${#done_before[@]}" -ge 2 ] || fail "fewer than 2 tasks recorded before the kill"
declare -A stamp
for id in "${done_before[@]}"; do
	stamp[$id]=$(stat -c '%i %Y.%y' "$OUT/tasks/$id/results.json")
done
# A crash in the middle of an append leaves a line without its newline.
printf '{"id":"t9","line":9,"pa' >>"$OUT/batch.jsonl"

fp_run b2 batch "$W/tasks.jsonl" --out "$OUT" --jobs 1
check_eq "$rc" 0 "rerun exit code"
grep -q "cutting a torn last line" "$T/b2.err" || fail "torn line not reported"
grep -q "resuming: ${#done_before[@]} of 6 tasks already done" "$T/b2.err" || fail "resume note: $(cat "$T/b2.err")"
ids=$(jsonl_ids "$OUT/batch.jsonl") || fail "batch.jsonl is not clean JSON lines"
check_eq "$(echo "$ids" | sort | tr '\n' ' ')" "t1 t2 t3 t4 t5 t6 " "every task exactly once"
for id in "${done_before[@]}"; do
	check_eq "$(stat -c '%i %Y.%y' "$OUT/tasks/$id/results.json")" "${stamp[$id]}" "finished task $id not redone"
	grep -q "\] $id:" "$T/b2.err" && fail "finished task $id reported again"
done
for i in 1 2 3 4 5 6; do
	[ -s "$OUT/tasks/t$i/results.json" ] || fail "t$i has no results.json"
done
check_eq "$(jq_py "$OUT/results.json" '(d["tasks_done"], d["tasks_passed"], d["complete"])')" "(6, 4, True)" "batch totals"
check_eq "$(jq_py "$OUT/results.json" '[t["pass"] for t in d["tasks"]]')" "[True, True, False, False, True, True]" "task results"
check_eq "$(jq_py "$OUT/tasks/t3/results.json" 'd["candidates"][0]["verdict"]')" timeout "t3 redone to its verdict"
finish
