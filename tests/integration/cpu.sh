# A busy loop is killed at --cpu-seconds 2, and so is one that hands its work
# to a fresh child every 0.5 s of CPU (dodging per-process RLIMIT_CPU).
. "$(dirname "$0")/lib.sh"
need_sandbox
ws=$(new_ws spin)
box spin --workspace "$ws" --cpu-seconds 2 --wall-seconds 30 -- /work/spin
expect_eq "$(meta killed_by)" cpu "killed_by"
expect_eq "$(meta cpu_limit_hit)" true "cpu_limit_hit"
[ "$BOX_RC" -gt 128 ] || fail "exit code $BOX_RC is not 128+signal"
cpu=$(meta cpu_ms)
[ "$cpu" -ge 1500 ] && [ "$cpu" -le 4000 ] || fail "cpu_ms $cpu for a 2 s CPU limit"
[ "$BOX_MS" -lt 10000 ] || fail "took ${BOX_MS} ms"
note "plain spin: rc $BOX_RC, cpu_ms $cpu, ${BOX_MS} ms"

box chain --workspace "$ws" --cpu-seconds 2 --wall-seconds 12 -- /work/spin chain
kb=$(meta killed_by)
cpu=$(meta cpu_ms)
[ "$kb" = cpu ] || fail "a forking spinner escaped the box-wide CPU limit: killed_by=$kb cpu_ms=$cpu after ${BOX_MS} ms (per-process RLIMIT_CPU only?)"
[ "$cpu" -le 4000 ] || fail "cpu_ms $cpu for a 2 s CPU limit (chain)"
pass "chain: cpu_ms $cpu, ${BOX_MS} ms"
