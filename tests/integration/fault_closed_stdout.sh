#!/bin/bash
# A candidate that closes its stdout and stderr and keeps running must end
# at its timeout with verdict timeout, not hang waiting for EOF on a pipe
# nobody will close, and leave nothing behind:
#   1. the app closes 1 and 2, then serves; the test closes 1 and 2 and
#      sleeps (test timeout);
#   2. the app closes 1 and 2 and sleeps without listening (start timeout);
#   3. the test command closes 1 and 2 and leaves a setsid'ed child that
#      also keeps running (a daemon outliving its parent in the box).
. "$(dirname "$0")/run_lib.sh"
. "$(dirname "$0")/fault_lib.sh"
sed -e 's/"test_seconds": *[0-9]*/"test_seconds": 3/' \
	-e 's/"start_seconds": *[0-9]*/"start_seconds": 3/' \
	"$SRC/policies/default.json" >"$T/short.json"
grep -q '"start_seconds": 3, .*"test_seconds": 3' "$T/short.json" || { echo "cannot make the policy"; exit 1; }

mkdir -p "$T/serve/api" "$T/serve/tests" "$T/silent/api"
cat >"$T/serve/api/main.py" <<'EOF'
import os, socket
os.close(1)
os.close(2)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8000))
s.listen(8)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n[]")
    c.close()
EOF
cat >"$T/serve/tests/test_closed.py" <<'EOF'
import os, time
def test_closes_and_sleeps():
    os.close(1)
    os.close(2)
    time.sleep(3600)
EOF
printf 'import os, time\nos.close(1)\nos.close(2)\ntime.sleep(3600)\n' >"$T/silent/api/main.py"

closed_case() { # NAME CANDIDATE ERE_REASON [FLAGS...]
	local name=$1 cand=$2 want=$3; shift 3
	local t0=$SECONDS
	fp_reaped "$name" 5 timeout -s KILL 60 "$FP" eval --out "$T/$name" --policy "$T/short.json" "$@" "$cand"
	fp_reaped_wait "$name"
	local took=$((SECONDS - t0))
	echo "$name: rc=$rc in ${took} s"
	check_eq "$rc" 1 "$name: exit code"
	[ "$took" -lt 20 ] || fail "$name: took ${took} s for a 3 s timeout"
	local R=$T/$name/results.json
	check_json_files "$name" "$T/$name"
	check_eq "$(jq_py "$R" 'd["candidates"][0]["verdict"]')" timeout "$name: verdict"
	check_match "$(jq_py "$R" 'd["candidates"][0]["reason"]')" "$want" "$name: reason"
	check_no_leftovers "$name" "$fpid"
	check_no_cgroups "$name" "$fpid"
}

closed_case test-closed "$T/serve" '^test: wall-clock limit 3s exceeded$'
closed_case start-closed "$T/silent" '^start: .*(3s|3 s)'
closed_case daemon-closed "$T/serve" '^test: wall-clock limit 3s exceeded$' \
	--test-cmd 'sh -c "exec >&- 2>&-; setsid sleep 3600 & sleep 3600"'
finish
