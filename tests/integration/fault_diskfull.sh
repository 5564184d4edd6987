#!/bin/bash
# Disk full in the output directory: --out on a 200 KiB tmpfs. firstpass
# must say which file it could not write and why, exit non-zero (a run
# whose results are not on disk is not a success), not claim a
# results.json it did not write, and leave no sandbox, process, cgroup or
# temporary file behind. After space is freed, the same --out runs to a
# full, correct result (resumable).
. "$(dirname "$0")/run_lib.sh"
. "$(dirname "$0")/fault_lib.sh"
M=$T/full
mkdir -p "$M"
mount -t tmpfs -o size=200k,mode=0755 fp-fault-full "$M" 2>/dev/null ||
	{ echo "SKIP: cannot mount a tmpfs here"; exit 77; }
trap 'umount -l "$M" 2>/dev/null; rm -rf "$T"' EXIT

fp_reaped full 5 "$FP" run --out "$M/out" --jobs 2
fp_reaped_wait full
echo "disk full: rc=$rc"
[ "$rc" != 0 ] || fail "full: exit code 0 although the results could not be written"
[ "$rc" = 3 ] && fail "full: exit code 3 (sandbox unavailable) for a write error"
grep -Eq "'$M/out/[^']+': No space left on device" "$T/full.err" ||
	fail "full: no message naming the file and ENOSPC"
if [ ! -f "$M/out/results.json" ] && grep -q "^results: " "$T/full.out"; then
	fail "full: the summary points to a results.json that was not written"
fi
check_no_leftovers full "$fpid"
check_no_cgroups full "$fpid"
check_json_files full "$M/out"

# Free space: the same --out again.
mount -o remount,size=64m "$M" || { fail "cannot grow the tmpfs"; finish; }
fp_run rerun run --out "$M/out" --jobs 2
check_eq "$rc" 0 "rerun: exit code"
check_json_files rerun "$M/out"
check_eq "$(jq_py "$M/out/results.json" 'd["winner"]')" r1-c6 "rerun: winner"
check_eq "$(jq_py "$M/out/results.json" 'len(d["candidates"])')" 6 "rerun: candidates"
cmp -s "$M/out/winner/api/main.py" "$M/out/candidates/r1-c6/files/api/main.py" ||
	fail "rerun: winner copy differs from the candidate"
[ "$(find "$M/out/winner" -type f | wc -l)" = "$(find "$M/out/candidates/r1-c6/files" -type f | wc -l)" ] ||
	fail "rerun: winner copy incomplete"
umount -l "$M"
finish
