# The notes app fixture starts and its pytest passes inside one box (the app
# listening on the box's own 127.0.0.1:8000, the tests calling it live).
. "$(dirname "$0")/lib.sh"
need_sandbox
fixture=$SRC/tests/fixtures/notes_app
[ -f "$fixture/api/main.py" ] || fail "fixture '$fixture' is missing"
ws=$(mktemp -d "$T/ws.XXXXXX")
chmod 755 "$ws"
cp -a "$fixture/." "$ws/"
chmod -R a+rX "$ws"
script='
/usr/bin/python3 api/main.py >/tmp/app.log 2>&1 &
i=0
until /usr/bin/python3 -c "import socket; socket.create_connection((\"127.0.0.1\", 8000), 1)" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then echo "APP_NOT_LISTENING"; cat /tmp/app.log; exit 1; fi
	sleep 0.1
done
/usr/bin/python3 -m pytest -q -p no:cacheprovider
'
BOX_TIMEOUT=90 box notes --workspace "$ws" --cwd /work --wall-seconds 60 --memory-mb 1024 -- /bin/sh -c "$script"
expect_rc 0
expect_out '[0-9]+ passed'
grep -Eq '[0-9]+ (failed|error)' "$LAST.out" && fail "pytest reported failures"
pass "$(grep -E '[0-9]+ passed' "$LAST.out")"
