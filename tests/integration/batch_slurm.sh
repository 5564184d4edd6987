#!/bin/bash
# The Slurm path end to end on a real one-node cluster (scripts/slurm-cluster):
# `batch --slurm 2` writes the job array script, submits it, waits for the
# array to leave squeue and merges the shards; the result equals the
# unsharded batch. `--print` only writes the script.
. "$(dirname "$0")/run_lib.sh"
. "$(dirname "$0")/batch_lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: starting a Slurm cluster needs root"; exit $SKIP; }
FP=$(realpath "$FP") # the script must name the binary by its absolute path
CLUSTER=$SRC/scripts/slurm-cluster
# One instance at a time per machine (two ctest runs from two build dirs):
# an instance that started the cluster stops it when done.
exec 9>/run/lock/firstpass-slurm-test.lock
flock -w 80 9 || { echo "FAIL: another batch_slurm test holds the lock"; exit 1; }
started=0
if ! "$CLUSTER" status 2>/dev/null | grep -q "slurmctld: running"; then
	if ! timeout 300 "$CLUSTER" start >"$T/cluster.log" 2>&1; then
		echo "SKIP: cannot start a local Slurm cluster:"; cat "$T/cluster.log"
		"$CLUSTER" stop >/dev/null 2>&1
		exit $SKIP
	fi
	started=1
fi
stop_cluster() {
	[ $started = 1 ] && "$CLUSTER" stop >/dev/null 2>&1
	started=0
}
trap 'stop_cluster; rm -rf "$T"' EXIT
make_fixtures
cat >"$W/tasks.jsonl" <<JSONL
{"id": "example", "goal_file": "$SRC/examples/notes/goal.md", "generator": "replay:$EX", "rounds": 1, "jobs": 6}
{"id": "tiny-pass", "goal": "notes", "generator": "replay:pass", "rounds": 1}
{"id": "tiny-fail", "goal": "notes", "generator": "replay:fail", "rounds": 1}
{"id": "compare", "compare": ["fail/03-failing-test.json", "$EX/06-correct.json"], "first_pass": true}
JSONL

fp_run print batch "$W/tasks.jsonl" --out "$T/pr" --slurm 2 --partition debug --time 10 --print
check_eq "$rc" 0 "--print exit code"
check_eq "$(cat "$T/print.out")" "$T/pr/firstpass.sbatch" "--print prints the script path"
S=$T/pr/firstpass.sbatch
grep -qx '#SBATCH --array=1-2' "$S" || fail "script lacks the job array"
grep -qx "#SBATCH --output=$T/pr/slurm-%A_%a.out" "$S" || fail "script lacks the output pattern"
grep -qx '#SBATCH --partition=debug' "$S" || fail "script lacks the partition"
grep -q "^exec $FP batch $W/tasks.jsonl --out $T/pr/shard-\"\$SLURM_ARRAY_TASK_ID\" --shard \"\$SLURM_ARRAY_TASK_ID\"/2" "$S" ||
	fail "script does not run the shard with the absolute binary: $(tail -n1 "$S")"
sleep 1
ls "$T/pr" | grep -q shard- && fail "--print submitted the job"

fp_run full batch "$W/tasks.jsonl" --out "$T/full" --parallel-tasks 2
check_eq "$rc" 0 "unsharded exit code"

t0=$(date +%s)
rc=0
timeout 120 "$FP" batch "$W/tasks.jsonl" --out "$T/sl" --slurm 2 >"$T/sl.out" 2>"$T/sl.err" || rc=$?
check_eq "$rc" 0 "--slurm exit code"
grep -q "submitted slurm job [0-9]" "$T/sl.err" || fail "no job id reported"
for k in 1 2; do
	ls "$T/sl"/slurm-*_$k.out >/dev/null 2>&1 || fail "no slurm output of array task $k"
	check_eq "$(jq_py "$T/sl/shard-$k/batch-meta.json" '(d["shard_k"], d["shard_n"])')" "($k, 2)" "shard-$k meta"
done
check_eq "$(rows "$T/sl/results.json")" "$(rows "$T/full/results.json")" "slurm result equals the unsharded result"
check_eq "$(rows "$T/full/results.json" | tr '\n' ' ')" \
	"compare True 06-correct example True r1-c6 tiny-fail False None tiny-pass True r1-c1 " "verdicts"
check_eq "$(jq_py "$T/sl/results.json" '(d["command"], d["tasks_done"], d["complete"])')" "('merge', 4, True)" "merged totals"
[ -s "$T/sl/report.html" ] || fail "no merged report"
echo "slurm batch took $(( $(date +%s) - t0 )) s"
if [ "$fails" -gt 0 ]; then
	for f in "$T"/sl/slurm-*.out "$T"/sl/shard-*/logs/*.log; do
		[ -s "$f" ] && { echo "== $f"; tail -n 20 "$f"; }
	done
	squeue 2>&1 | head; sinfo 2>&1 | head
	tail -n 20 /var/log/slurm/slurmctld.log
fi
stop_cluster # finish keeps $T on failure but the cluster must go
finish
