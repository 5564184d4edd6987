# A process touching 4 GiB is OOM-killed at --memory-mb and the host is fine.
. "$(dirname "$0")/lib.sh"
need_sandbox
ws=$(new_ws memhog)
box hog --workspace "$ws" --memory-mb 128 --wall-seconds 30 -- /work/memhog
grep -q '^done' "$LAST.out" && fail "memhog allocated 4 GiB under --memory-mb 128"
cg=$(meta cgroup)
[ "$cg" != none ] || skip "no memory cgroup on this host (cgroup=none)"
expect_eq "$(meta oom_killed)" true "oom_killed"
expect_eq "$(meta killed_by)" memory "killed_by"
expect_eq "$BOX_RC" 137 "exit code (128+SIGKILL)"
last=$(sed -n 's/^allocated \([0-9]*\) MiB$/\1/p' "$LAST.out" | tail -n 1)
[ "${last:-0}" -le 192 ] || fail "memhog reached $last MiB under a 128 MiB limit"
# The host is fine: the next box runs normally.
box after -- /bin/echo still-alive
expect_rc 0
expect_out '^still-alive$'
pass "killed after ${last:-0} MiB, cgroup $cg"
