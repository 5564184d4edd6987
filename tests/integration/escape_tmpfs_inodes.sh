# Empty files cost no tmpfs bytes but kernel memory (inode and dentry):
# creating them in /tmp without end must stop at the box's memory limit
# (inodes are charged to its memory cgroup), not exhaust the host.
. "$(dirname "$0")/lib.sh"
need_sandbox
need_root
[ "$("$FP" sandbox --meta "$T/probe.meta" -- /bin/true >/dev/null 2>&1; meta cgroup "$T/probe.meta")" != none ] ||
	skip "no cgroups here: only the tmpfs's default inode count bounds this"
code='
import os, time, errno
t = time.time(); n = 0
try:
    while time.time() - t < 30:
        fd = os.open("/tmp/f%d" % n, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd); n += 1
    print("unbounded", n)
except OSError as e:
    print("stopped", n, errno.errorcode[e.errno])
'
box inodes --memory-mb 64 --wall-seconds 60 -- "$PY" -c "$code"
grep -q '^unbounded' "$LAST.out" && fail "created $(cut -d' ' -f2 "$LAST.out") files in 30 s with no limit hit"
kb=$(meta killed_by)
if [ "$kb" != memory ]; then
	grep -Eq '^stopped [0-9]+ (ENOSPC|ENOMEM)$' "$LAST.out" ||
		fail "the file flood ended neither by the memory limit nor ENOSPC/ENOMEM (killed_by=$kb)"
fi
pass "killed_by=$kb $(cat "$LAST.out")"
