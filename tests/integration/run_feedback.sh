#!/bin/bash
# Rounds: round 1's candidate fails; the generator (a command) answers with
# the passing candidate only when the prompt carries the failure text, so
# round 2 passes only because the feedback reached it.
. "$(dirname "$0")/run_lib.sh"
D=$SRC/examples/notes/candidates-feedback
cat >"$T/gen.sh" <<GEN
#!/bin/sh
prompt=\$(cat)
echo "\$FIRSTPASS_ROUND" >>"$T/rounds.txt"
case "\$prompt" in
*"test: 1 failed, 5 passed"*FAILED*) cat "$D/pass.json" ;;
*) cat "$D/fail.json" ;;
esac
GEN
chmod +x "$T/gen.sh"

fp_run fb run --out "$T/out" --generator "command:$T/gen.sh" --goal-text "a notes API" --candidates 2 --rounds 3 --json
check_eq "$rc" 0 "exit code"
R=$T/out/results.json
check_match "$(jq_py "$R" 'd["winner"]')" '^r2-c[12]$' "winner is from round 2"
check_eq "$(jq_py "$R" 'len(d["rounds"])')" 2 "two rounds"
check_eq "$(jq_py "$R" '[(c["round"], c["verdict"]) for c in d["candidates"]]')" "[(1, 'failed'), (1, 'failed'), (2, 'passed'), (2, 'passed')]" "verdicts"
# replies arrive in any order: whichever came second is the duplicate
check_match "$(jq_py "$R" '[c["reason"] for c in d["candidates"]]')" "'duplicate of r1-c[12] \\(test: 1 failed, 5 passed\\)'" "identical candidate tested once"
grep -q "1 failed, 5 passed" "$T/out/prompts/round-2.txt" || fail "round 2 prompt lacks the failure"
grep -q "1 failed, 5 passed" "$T/out/prompts/round-1.txt" && fail "round 1 prompt has feedback"
# --json: stdout is only JSON events, the same stream as events.jsonl
"$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/fb.out" || fail "stdout is not JSON lines"
cmp -s "$T/fb.out" "$T/out/events.jsonl" || fail "--json stdout differs from events.jsonl"
check_eq "$(grep -c round_started "$T/out/events.jsonl")" 2 "round_started events"
finish
