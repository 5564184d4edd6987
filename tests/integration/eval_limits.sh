#!/bin/bash
# Resource limits become verdicts with their reason, not test failures:
# memory (cgroup OOM kill) and whole-box CPU time.
. "$(dirname "$0")/run_lib.sh"
mkdir -p "$T/mem/api" "$T/spin/api"
printf 'x = bytearray(3 << 30)\nimport time\ntime.sleep(60)\n' >"$T/mem/api/main.py"
printf 'while True:\n    pass\n' >"$T/spin/api/main.py"
sed 's/"cpu_seconds": *[0-9]*,/"cpu_seconds": 2,/' "$SRC/policies/default.json" >"$T/cpu2.json"
grep -q '"cpu_seconds": 2,' "$T/cpu2.json" || { echo "cannot make the policy"; exit 1; }

fp_run lim eval "$T/mem" "$T/spin" --out "$T/out" --policy "$T/cpu2.json" --jobs 2
check_eq "$rc" 1 "exit code"
R=$T/out/results.json
c() { jq_py "$R" "$1"; }
check_eq "$(c 'd["candidates"][0]["verdict"]')" error "memory verdict"
check_eq "$(c 'd["candidates"][0]["reason"]')" "start: killed by memory limit" "memory reason"
check_eq "$(c 'd["candidates"][0]["resources"]["oom_killed"]')" True "oom_killed"
check_eq "$(c 'd["candidates"][1]["verdict"]')" timeout "cpu verdict"
check_eq "$(c 'd["candidates"][1]["reason"]')" "start: CPU limit 2s exceeded" "cpu reason"
check_eq "$(c 'd["candidates"][1]["resources"]["cpu_limit_hit"]')" True "cpu_limit_hit"
check_match "$(c 'd["candidates"][1]["resources"]["cpu_ms"] >= 2000')" True "cpu_ms accounted"
finish
