# A fork bomb is stopped by the pids limit, firstpass returns in bounded time
# and no process of the box survives.
. "$(dirname "$0")/lib.sh"
need_sandbox
need_root
ws=$(new_ws forkbomb)
BOX_TIMEOUT=40 box bomb --workspace "$ws" --pids 64 --wall-seconds 4 -- /work/forkbomb
[ "$BOX_MS" -lt 20000 ] || fail "firstpass took ${BOX_MS} ms for a 4 s wall limit"
hit=$(meta pids_limit_hit)
if [ "$hit" != true ] && ! grep -q '^fork_failed errno=EAGAIN' "$LAST.out"; then
	fail "neither pids_limit_hit nor a failed fork was seen"
fi
if grep -q '^fork_failed' "$LAST.out"; then
	n=$(sed -n 's/^fork_failed errno=[A-Z]* children=\([0-9]*\)$/\1/p' "$LAST.out")
	[ -n "$n" ] && [ "$n" -le 64 ] || fail "the first process alone made '$n' children under --pids 64"
fi
kb=$(meta killed_by)
case $kb in wall|pids) ;; *) fail "killed_by=$kb, expected wall or pids" ;; esac
box_gone "$(meta host_uid)"
pass "pids_limit_hit=$hit, ${BOX_MS} ms"
