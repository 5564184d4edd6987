# kill(-1, SIGKILL) inside reaches only the box: a process of the caller
# survives, and the box sees no host process.
. "$(dirname "$0")/lib.sh"
need_sandbox
ws=$(new_ws killall)
sleep 300 &
victim=$!
BG_PIDS+=("$victim")
# killall is exec'd: the box's main command must outlive its own kill(-1).
box kill --workspace "$ws" -- /bin/sh -c 'sleep 100 & echo "PROCS $(ls -d /proc/[0-9]* | wc -l)"; exec /work/killall'
kill -0 "$victim" 2>/dev/null || fail "kill(-1) inside the box killed the caller's sleep (pid $victim)"
[ "$BOX_MS" -lt 20000 ] || fail "firstpass took ${BOX_MS} ms"
expect_rc 0
expect_out '^killall rc=0 '
procs=$(sed -n 's/^PROCS //p' "$LAST.out")
[ -n "$procs" ] && [ "$procs" -le 8 ] || fail "the box sees $procs processes in /proc (host pids visible?)"
[ -s "$LAST.meta" ] || fail "no meta after kill(-1)"
pass "$(grep '^killall' "$LAST.out")"
