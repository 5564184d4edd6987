#!/usr/bin/env bash
# The self-healing loop over real HTTP: tests/openai_server.py (an
# OpenAI-compatible server) answers with a candidate whose test fails with
# the marker EXPECTED_STATUS_201_GOT_200 until a prompt carries that
# marker; only the feedback of round 1 can put it there. Round 1 fails,
# round 2 passes. The key reaches the server and nothing firstpass writes.
. "$(dirname "$0")/run_lib.sh"
EX=$SRC/examples/notes
KEY=sk-fp-test-$$-$RANDOM
"$PY" "$SRC/tests/openai_server.py" --port-file "$T/port" --log "$T/requests.jsonl" \
	--require-in-prompt EXPECTED_STATUS_201_GOT_200 \
	--fail-candidate "$EX/candidates-feedback/fail.json" \
	--pass-candidate "$EX/candidates-feedback/pass.json" --max-seconds 80 \
	>/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 300); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || { echo "FAIL: test server did not start"; exit 1; }
port=$(cat "$T/port")
rc=0
OPENAI_API_KEY=$KEY "$FP" run --generator openai-chat --model feedback \
	--base-url "http://127.0.0.1:$port/v1" --goal "$EX/goal.md" \
	--candidates 2 --rounds 3 --out "$T/out" >"$T/run.out" 2>"$T/run.err" || rc=$?
[ $rc = 3 ] && { echo "SKIP: no sandbox here"; exit 77; }
check_eq "$rc" 0 "exit code"
R=$T/out/results.json
check_match "$(jq_py "$R" 'd["winner"]')" '^r2-c[12]$' "winner (either reply of round 2)"
check_eq "$(jq_py "$R" '[c["verdict"] for c in d["candidates"] if c["round"] == 1]')" "['failed', 'failed']" "round 1 verdicts"
grep -q EXPECTED_STATUS_201_GOT_200 "$T/out/prompts/round-2.txt" || fail "round 2 prompt lacks the failure text"
grep -q EXPECTED_STATUS_201_GOT_200 "$T/out/prompts/round-1.txt" && fail "round 1 prompt already has the marker"
# Two requests per round, two rounds; the key went in the header.
check_eq "$(grep -c . "$T/requests.jsonl")" 4 "requests made"
grep -q "Bearer $KEY" "$T/requests.jsonl" || fail "the key did not reach the server"
if grep -rqs -- "$KEY" "$T/out" "$T/run.out" "$T/run.err"; then fail "the key leaked into firstpass's output"; fi
[ $fails = 0 ] && echo PASS || { cat "$T/run.err"; exit 1; }
