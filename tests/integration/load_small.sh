#!/bin/bash
# CI-sized load run: scripts/load with 60 candidates (see scripts/load for
# what is sampled and asserted: flat RSS and fds, no zombies, no process,
# cgroup, mount or temporary file left behind, every candidate passed).
FP=${1:?usage: $0 FIRSTPASS_BINARY}
[ "$(id -u)" = 0 ] || { echo "SKIP: the load test needs root (cgroups)"; exit 77; }
rc=0
FIRSTPASS=$FP "$(dirname "$0")/../../scripts/load" "${FP_LOAD_N:-60}" || rc=$?
exit $rc
