#!/bin/bash
# The README's first command: `firstpass run` with no key replays the
# bundled example; 06 passes, 01..05 fail in their designed ways.
. "$(dirname "$0")/run_lib.sh"

fp_run run run --out "$T/out" --jobs 3
check_eq "$rc" 0 "exit code"
grep -q "bundled offline example" "$T/run.err" || fail "no note about the bundled example"
R=$T/out/results.json
[ -f "$R" ] || { fail "no results.json"; finish; }
check_eq "$(jq_py "$R" 'd["version"]')" 1 "results version"
check_eq "$(jq_py "$R" 'd["command"]')" run "command"
check_eq "$(jq_py "$R" 'd["winner"]')" r1-c6 "winner"
check_match "$(jq_py "$R" 'd["generator"]')" "replay" "generator describes replay"
check_match "$(jq_py "$R" 'd["cancel_latency_ms"]')" '^[0-9]+$' "cancel latency"
check_eq "$(jq_py "$R" 'len(d["candidates"])')" 6 "candidate count"
check_eq "$(jq_py "$R" 'len(d["rounds"])')" 1 "one round"

m() { jq_py "$T/out/candidates/$1/meta.json" "$2"; }
check_eq "$(m r1-c1 'd["verdict"]')" error "01 verdict"
check_match "$(m r1-c1 'd["reason"]')" "^start: SyntaxError" "01 reason"
check_eq "$(m r1-c2 'd["verdict"]')" error "02 verdict"
check_match "$(m r1-c2 'd["reason"]')" "flask" "02 reason names flask"
check_eq "$(m r1-c2 'd["missing_module"]')" flask "02 missing module"
grep -q "fastapi" "$T/out/candidates/r1-c2/feedback.txt" || fail "02 feedback lists available modules"
check_eq "$(m r1-c3 'd["verdict"]')" failed "03 verdict"
check_eq "$(m r1-c3 'd["reason"]')" "test: 1 failed, 5 passed" "03 reason"
check_eq "$(m r1-c3 'd["tests"]["failed"]')" 1 "03 failed count"
grep -q "FAILED" "$T/out/candidates/r1-c3/feedback.txt" || fail "03 feedback has the FAILED line"
check_eq "$(m r1-c4 'd["verdict"]')" error "04 verdict"
check_match "$(m r1-c4 'd["reason"]')" "^start: exited with status 0 before listening" "04 reason"
check_match "$(m r1-c5 'd["verdict"]')" "^(cancelled|timeout)$" "05 verdict"
check_eq "$(m r1-c6 'd["verdict"]')" passed "06 verdict"
check_eq "$(m r1-c6 'd["reason"]')" "test: 6 passed" "06 reason"
check_eq "$(m r1-c6 'd["phases"]["test"]["exit_code"]')" 0 "06 test exit code"
check_match "$(m r1-c6 'd["sha256"]')" '^[0-9a-f]{64}$' "06 sha256"
check_eq "$(m r1-c6 'sorted(d["resources"])')" \
	"['cpu_limit_hit', 'cpu_ms', 'max_rss_kb', 'oom_killed', 'output_truncated', 'pids_limit_hit', 'wall_limit_hit']" \
	"resources fields"
check_eq "$(m r1-c6 'sorted(d["phases"]["start"])')" \
	"['exit_code', 'signal', 'started_ms', 'wall_ms']" "phase fields"
for f in app.log test.log junit.xml meta.json files/api/main.py; do
	[ -e "$T/out/candidates/r1-c6/$f" ] || fail "r1-c6/$f missing"
done
[ -f "$T/out/winner/api/main.py" ] || fail "winner/ has no api/main.py"
cmp -s "$T/out/winner/api/main.py" "$T/out/candidates/r1-c6/files/api/main.py" || fail "winner copy differs"
grep -q '"event":"winner"' "$T/out/events.jsonl" || fail "no winner event"
grep -q '"event":"run_finished"' "$T/out/events.jsonl" || fail "no run_finished event"
grep -q "^winner: r1-c6" "$T/run.out" || fail "summary names the winner"
finish
