# An endless sleep is killed at --wall-seconds 2.
. "$(dirname "$0")/lib.sh"
need_sandbox
box sleep --wall-seconds 2 -- /bin/sleep 1000
expect_eq "$(meta killed_by)" wall "killed_by"
expect_eq "$(meta wall_limit_hit)" true "wall_limit_hit"
expect_eq "$(meta status)" killed "status"
wall=$(meta wall_ms)
[ "$wall" -ge 1900 ] && [ "$wall" -lt 5000 ] || fail "wall_ms $wall for a 2 s limit"
[ "$BOX_MS" -lt 6000 ] || fail "firstpass took ${BOX_MS} ms"
[ "$BOX_RC" -gt 128 ] || fail "exit code $BOX_RC is not 128+signal"
pass "wall_ms $wall"
