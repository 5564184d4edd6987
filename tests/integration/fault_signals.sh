#!/bin/bash
# firstpass killed at a random point (0.2-1.5 s) of a run and of an eval,
# by SIGKILL, SIGTERM and SIGINT.
#   SIGKILL: nothing survives (the boxes die with their keeper), the JSON
#     files written so far parse, the stale cgroups are swept by the next
#     firstpass, and the same --out can be run again to a full result.
#   SIGTERM/SIGINT: firstpass exits by itself within 5 s with 128+signal
#     (143/130), leaves a results.json that says the run was interrupted
#     and gives every candidate a verdict, and removes its cgroups.
# Set FP_FAULT_SEED to replay a sequence of delays.
. "$(dirname "$0")/run_lib.sh"
. "$(dirname "$0")/fault_lib.sh"
RANDOM=${FP_FAULT_SEED:-$$}
EX=$SRC/examples/notes

delay_ms() { echo $((200 + RANDOM % 1300)); }

sig_num() { kill -l "$1"; }

interrupt_case() { # NAME SIG OUT CMD...
	local name=$1 sig=$2 out=$3; shift 3
	local d t0 t1
	d=$(delay_ms)
	fp_reaped "$name" 5 "$@"
	sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
	if ! kill -0 "$fpid" 2>/dev/null; then
		fail "$name: firstpass ended before SIG$sig at ${d} ms"
		fp_reaped_wait "$name"
		return
	fi
	t0=$(date +%s%N)
	kill -"$sig" "$fpid"
	fp_reaped_wait "$name"
	t1=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "$name: SIG$sig after ${d} ms -> rc=$rc ($how), done in ${t1} ms (+${settle_ms} ms to settle)"
	check_no_leftovers "$name" "$fpid"
	check_json_files "$name" "$out"
	local R=$out/results.json
	if [ "$sig" = KILL ]; then
		check_eq "$rc/$how" "137/signaled" "$name: status"
		# The next firstpass start sweeps the groups of the dead keeper.
		"$FP" sandbox -- /bin/true >/dev/null 2>&1
		check_no_cgroups "$name (after the next start)" "$fpid"
		return
	fi
	local want=$((128 + $(sig_num "$sig")))
	check_eq "$rc/$how" "$want/exited" "$name: exit status (handled, 128+SIG$sig)"
	[ "$t1" -lt 5000 ] || fail "$name: took ${t1} ms to exit after SIG$sig"
	grep -Eqi "interrupt|SIG$sig" "$T/$name.err" || fail "$name: no message about the interruption on stderr"
	check_no_cgroups "$name" "$fpid"
	if [ ! -f "$R" ]; then
		fail "$name: no results.json after SIG$sig"
		return
	fi
	check_match "$(jq_py "$R" 'd.get("interrupted")')" "^(True|SIG$sig|$sig)" "$name: results.json marks the run as interrupted"
	check_eq "$(jq_py "$R" 'd["winner"]')" None "$name: no winner"
	check_eq "$(jq_py "$R" '[c["id"] for c in d["candidates"] if c["verdict"] not in ("passed","failed","error","timeout","invalid","cancelled")]')" \
		"[]" "$name: every candidate has a final verdict"
}

resume_case() { # NAME OUT : the same --out, run again to the end
	fp_run "$1" run --out "$2" --jobs 2
	check_eq "$rc" 0 "$1: exit code of the rerun"
	check_json_files "$1" "$2"
	check_eq "$(jq_py "$2/results.json" 'd["winner"]')" r1-c6 "$1: winner of the rerun"
	check_eq "$(jq_py "$2/results.json" 'len(d["candidates"])')" 6 "$1: candidates of the rerun"
	check_eq "$(jq_py "$2/results.json" 'd.get("interrupted") in (None, False)')" True "$1: rerun not marked interrupted"
	cmp -s "$2/winner/api/main.py" "$2/candidates/r1-c6/files/api/main.py" || fail "$1: winner copy differs"
}

# Cgroups whose keeper is dead (batch tasks are firstpass processes of
# their own, with their own pids in the group names).
stale_cgroups() {
	find /sys/fs/cgroup -maxdepth 7 -type d -name 'firstpass-*' 2>/dev/null |
		while read -r g; do
			k=${g##*/firstpass-}
			kill -0 "${k%%-*}" 2>/dev/null || echo "$g"
		done
}

batch_case() { # SIG : a batch of 4 eval tasks, killed, then resumed
	local name=batch-$1 d
	"$PY" - "$T/$name.jsonl" "$EX/candidates" <<'PYEOF'
import json, sys
c = sys.argv[2]
with open(sys.argv[1], "w") as f:
    for k in range(4):
        f.write(json.dumps({"id": "t%d" % k, "compare": [
            c + "/01-syntax-error.json", c + "/03-failing-test.json",
            c + "/06-correct.json"]}) + "\n")
PYEOF
	d=$(delay_ms)
	fp_reaped "$name" 5 "$FP" batch "$T/$name.jsonl" --out "$T/$name" --jobs 2
	sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
	kill -"$1" "$fpid"
	fp_reaped_wait "$name"
	echo "$name: SIG$1 after ${d} ms -> rc=$rc ($how), +${settle_ms} ms to settle"
	check_no_leftovers "$name" "$fpid"
	check_json_files "$name" "$T/$name"
	if [ "$1" = KILL ]; then
		check_eq "$rc/$how" "137/signaled" "$name: status"
		"$FP" sandbox -- /bin/true >/dev/null 2>&1
	else
		check_eq "$rc/$how" "$((128 + $(sig_num "$1")))/exited" "$name: exit status (handled)"
	fi
	check_eq "$(stale_cgroups | head -3)" "" "$name: cgroups of dead keepers"
	# Resume: the same command finishes every task, each exactly once.
	fp_run "$name-resume" batch "$T/$name.jsonl" --out "$T/$name" --jobs 2
	check_eq "$rc" 0 "$name: resume exit code"
	check_json_files "$name-resume" "$T/$name"
	check_eq "$("$PY" -c 'import json,sys; print(sorted(json.loads(l)["id"] for l in open(sys.argv[1])))' "$T/$name/batch.jsonl")" \
		"['t0', 't1', 't2', 't3']" "$name: each task recorded once in batch.jsonl"
	for k in 0 1 2 3; do
		check_eq "$(jq_py "$T/$name/tasks/t$k/results.json" '[c["verdict"] for c in d["candidates"]]')" \
			"['error', 'failed', 'passed']" "$name: t$k verdicts"
	done
}

for sig in KILL TERM INT; do
	interrupt_case "run-$sig" "$sig" "$T/run-$sig" "$FP" run --out "$T/run-$sig" --jobs 2
	resume_case "rerun-$sig" "$T/run-$sig"
	interrupt_case "eval-$sig" "$sig" "$T/eval-$sig" "$FP" eval --out "$T/eval-$sig" --jobs 2 \
		"$EX"/candidates/0[1-6]-*.json
	if "$FP" batch --help 2>/dev/null | grep -q -- '--parallel-tasks'; then
		batch_case "$sig"
	else
		echo "batch-$sig: skipped, 'firstpass batch' is not in this build"
	fi
done
finish
