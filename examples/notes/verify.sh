#!/bin/bash
# Bare (unsandboxed) check that every saved candidate behaves as designed:
# extract the JSON from the raw reply, materialize it in a temp dir, start
# `python3 api/main.py`, wait for 127.0.0.1:8000, run pytest with a timeout,
# print one line per candidate and compare it with expected.tsv.
# Uses host port 8000, so candidates run one at a time.
# Usage: examples/notes/verify.sh [CANDIDATE.json...]   (default: all)
set -u
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
START_TIMEOUT_S=10
TEST_TIMEOUT_S=20

if [ $# -eq 0 ]; then
	set -- "$HERE"/candidates/*.json "$HERE"/candidates-feedback/*.json
fi

port_open() {
	(exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null
}

materialize() { # reply-file dir
	"$PY" - "$1" "$2" <<'PYEOF'
import json, os, re, sys
text = open(sys.argv[1]).read()
m = re.search(r"```[a-zA-Z]*\n(.*?)\n```", text, re.S)
body = m.group(1) if m else text[text.index("{"):text.rindex("}") + 1]
files = json.loads(body)
root = os.path.realpath(sys.argv[2])
for rel, content in files.items():
    dest = os.path.realpath(os.path.join(root, rel))
    if not dest.startswith(root + os.sep):
        sys.exit(f"path escapes workspace: {rel!r}")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "w") as f:
        f.write(content)
PYEOF
}

# Prints the outcome line of one candidate.
run_one() { # reply-file
	local ws pid i rc line
	ws=$(mktemp -d)
	if ! materialize "$1" "$ws" 2>"$ws.err"; then
		echo "invalid: $(tail -1 "$ws.err")"; rm -rf "$ws" "$ws.err"; return
	fi
	rm -f "$ws.err"
	(cd "$ws" && exec env -u NOTES_DB "$PY" api/main.py >app.log 2>&1) &
	pid=$!
	for ((i = 0; i < START_TIMEOUT_S * 10; i++)); do
		port_open && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! port_open; then
		if kill -0 "$pid" 2>/dev/null; then
			kill -9 "$pid"; wait "$pid" 2>/dev/null
			echo "timeout: start: not listening after ${START_TIMEOUT_S}s"
		else
			wait "$pid"; rc=$?
			line=$(grep -E '^[A-Za-z_.]*(Error|Exception)\b' "$ws/app.log" | tail -1)
			if [ -n "$line" ]; then
				echo "error: start: $line"
			else
				echo "error: start: exited with status $rc before listening"
			fi
		fi
		rm -rf "$ws"; return
	fi
	(cd "$ws" && timeout -k 2 "$TEST_TIMEOUT_S" env -u NOTES_DB "$PY" -m pytest -q >test.log 2>&1)
	rc=$?
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	line=$(tail -1 "$ws/test.log" | sed -E 's/^=+ //; s/ in [0-9.]+s.*$//')
	case $rc in
	0) echo "passed: test: $line" ;;
	124 | 137) echo "timeout: test: wall-clock limit ${TEST_TIMEOUT_S}s exceeded" ;;
	*) echo "failed: test: $line" ;;
	esac
	# Wait for the port to be free before the next candidate.
	for ((i = 0; i < 50; i++)); do port_open || break; sleep 0.1; done
	rm -rf "$ws"
}

status=0
if port_open; then
	echo "port 8000 is already in use on this host; stop that first" >&2
	exit 2
fi
for f in "$@"; do
	name=$(basename "$(dirname "$f")")/$(basename "$f")
	got=$(run_one "$f")
	want=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$HERE/expected.tsv")
	if [ -z "$want" ]; then
		verdict="?"
	elif [[ "$got" =~ $want ]]; then
		verdict="OK"
	else
		verdict="MISMATCH (want /$want/)"; status=1
	fi
	printf '%-35s %-70s %s\n' "$name" "$got" "$verdict"
done
exit $status
