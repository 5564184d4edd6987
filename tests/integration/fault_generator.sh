#!/bin/bash
# The generator server dies in the middle of a response.
#   1. a server sends the headers and half the body, then is killed with
#      SIGKILL by the test (the connection drops, later connects are
#      refused);
#   2. tests/openai_server.py's "truncated" scenario (Content-Length larger
#      than the body, then close) for every request.
# Each run must end (no hang) with exit 1, an error verdict per candidate
# whose reason names the generator and the transport failure, parseable
# results and no leftovers; rerun into the same --out against a healthy
# server, it must reach a winner.
. "$(dirname "$0")/run_lib.sh"
. "$(dirname "$0")/fault_lib.sh"
EX=$SRC/examples/notes
export OPENAI_API_KEY=test-key-fault

cat >"$T/half.py" <<'EOF'
# half.py PORTFILE MARKFILE: answer the first request with the headers and
# half of the body, tell the test, then wait to be killed.
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
c.recv(1 << 20)
body = (b'{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,'
        b'"message":{"role":"assistant","content":"{\\"api/main.py\\": \\"x\\"}"}}]}')
c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body[:len(body) // 2])
open(sys.argv[2], "w").close()
time.sleep(300)
EOF

wait_port() { # FILE
	for _ in $(seq 300); do [ -s "$1" ] && return 0; sleep 0.05; done
	echo "FAIL: test server did not start"
	exit 1
}

gen_case() { # NAME PORT MODEL
	fp_reaped "$1" 5 timeout -s KILL 120 "$FP" run --generator openai-chat --model "$3" \
		--base-url "http://127.0.0.1:$2/v1" --goal "$EX/goal.md" \
		--candidates 2 --rounds 2 --out "$T/$1-out" --jobs 2
}

check_gen_failure() { # NAME ERE
	local R=$T/$1-out/results.json
	check_eq "$rc" 1 "$1: exit code"
	[ "$took" -lt 100 ] || fail "$1: took ${took} s (hang?)"
	check_no_leftovers "$1" "$fpid"
	check_no_cgroups "$1" "$fpid"
	check_json_files "$1" "$T/$1-out"
	[ -f "$R" ] || { fail "$1: no results.json"; return; }
	check_eq "$(jq_py "$R" 'd["winner"]')" None "$1: winner"
	check_match "$(jq_py "$R" 'len(d["candidates"])')" '^[1-9]' "$1: candidates recorded"
	check_eq "$(jq_py "$R" 'sorted(set(c["verdict"] for c in d["candidates"]))')" "['error']" "$1: verdicts"
	local reasons
	reasons=$(jq_py "$R" '"\n".join(c["reason"] for c in d["candidates"])')
	while IFS= read -r r; do
		check_match "$r" "^generator: .*($2)" "$1: reason"
	done <<<"$reasons"
	# The key never lands in what firstpass writes.
	if grep -rqs -- "$OPENAI_API_KEY" "$T/$1-out" "$T/$1.out" "$T/$1.err"; then
		fail "$1: the key leaked"
	fi
}

# 1. killed mid-body
"$PY" "$T/half.py" "$T/port1" "$T/half-sent" >/dev/null 2>&1 &
server=$!
trap 'kill -9 $server $ok 2>/dev/null; rm -rf "$T"' EXIT
wait_port "$T/port1"
t0=$(date +%s)
gen_case killed "$(cat "$T/port1")" ok
for _ in $(seq 600); do [ -e "$T/half-sent" ] && break; sleep 0.05; done
[ -e "$T/half-sent" ] || fail "killed: the server never got a request"
kill -9 "$server"
fp_reaped_wait killed
took=$(( $(date +%s) - t0 ))
echo "killed: rc=$rc in ${took} s"
check_gen_failure killed "connect|closed|transfer|receiv|refused|reset|empty"

# 2. truncated replies on every request (openai_server.py)
"$PY" "$SRC/tests/openai_server.py" --port-file "$T/port2" --log "$T/req2.jsonl" \
	--pass-candidate "$EX/candidates-feedback/pass.json" --max-seconds 110 >/dev/null 2>&1 &
ok=$!
wait_port "$T/port2"
t0=$(date +%s)
gen_case truncated "$(cat "$T/port2")" truncated
fp_reaped_wait truncated
took=$(( $(date +%s) - t0 ))
echo "truncated: rc=$rc in ${took} s"
check_gen_failure truncated "closed|transfer|remaining|partial"

# 3. resume: the same --out against a healthy server reaches a winner.
gen_case killed "$(cat "$T/port2")" ok
fp_reaped_wait killed
check_eq "$rc" 0 "rerun: exit code"
check_json_files rerun "$T/killed-out"
check_match "$(jq_py "$T/killed-out/results.json" 'd["winner"]')" '^r1-c[12]$' "rerun: winner"
check_no_leftovers rerun "$fpid"
finish
