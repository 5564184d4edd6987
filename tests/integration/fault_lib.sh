# fault_lib.sh - helpers for the fault_*.sh and load_*.sh tests (sourced
# after run_lib.sh). Other firstpass processes may run on the same host at
# the same time (other tests, other users), so every leftover check is
# scoped to the firstpass process under test:
#   - it runs under a child subreaper (fp_reaped): whatever it leaves
#     behind, double-forked or not, is re-parented to the reaper, which
#     reports survivors that outlive a grace period, then kills them;
#   - its cgroups are named firstpass-<its pid>-<seq>;
#   - its boxes' processes sit in those cgroups.
#
#   fp_reaped NAME GRACE_S CMD...   start CMD in the background under the
#                                   reaper; sets $fpid (CMD's pid) and $rpid
#   fp_reaped_wait NAME             wait; sets $rc, $how (exited|signaled),
#                                   $survivors, $settle_ms
#   fp_cgroups PID                  cgroups of keeper PID (one per line)
#   fp_cgroup_procs PID             processes in those cgroups
#   check_no_leftovers NAME PID     survivors, cgroups, cgroup procs, mounts
#   check_json_files DIR            results.json and every meta.json parse
[ "$(id -u)" = 0 ] || { echo "SKIP: the fault tests need root (cgroups, mounts)"; exit 77; }

cat >"$T/reaper.py" <<'EOF'
# reaper.py PIDFILE STATUSFILE GRACE_S CMD... - run CMD as a child of a
# subreaper; after CMD exits, wait up to GRACE_S for everything it left to
# exit, then report and kill what is left.
import ctypes, os, signal, sys, time
pidfile, statusfile, grace = sys.argv[1], sys.argv[2], float(sys.argv[3])
cmd = sys.argv[4:]
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("reaper: prctl: %s" % os.strerror(ctypes.get_errno()))
pid = os.fork()
if pid == 0:
    # Shells start background jobs with SIGINT ignored; the test must be
    # able to interrupt firstpass like a terminal would.
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(s, signal.SIG_DFL)
    os.execvp(cmd[0], cmd)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(pid))
os.rename(pidfile + ".tmp", pidfile)
rc = None
while rc is None:
    p, st = os.wait()
    if p == pid:
        rc = os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)
        how = "exited" if os.WIFEXITED(st) else "signaled"
t_exit = time.monotonic()

def children():
    me, out = str(os.getpid()), []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            with open("/proc/%s/status" % d) as f:
                uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
        except (OSError, IndexError):
            continue
        rest = st[st.rindex(")") + 2:].split()
        if rest[1] == me:
            comm = st[st.index("(") + 1:st.rindex(")")]
            out.append("pid=%s uid=%s state=%s comm=%s" % (d, uid, rest[0], comm))
    return out

left = children()
while left and time.monotonic() - t_exit < grace:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
    time.sleep(0.02)
    left = children()
settle_ms = int((time.monotonic() - t_exit) * 1000)
for l in left:
    try:
        os.kill(int(l.split()[0][4:]), signal.SIGKILL)
    except OSError:
        pass
with open(statusfile, "w") as f:
    f.write("rc=%d\nhow=%s\nsurvivors=%d\nsettle_ms=%d\n" % (rc, how, len(left), settle_ms))
    f.writelines("survivor %s\n" % l for l in left)
try:
    while True:
        os.wait()
except ChildProcessError:
    pass
EOF

fp_reaped() { # NAME GRACE_S CMD...
	local name=$1 grace=$2; shift 2
	rm -f "$T/$name.pid" "$T/$name.status"
	"$PY" "$T/reaper.py" "$T/$name.pid" "$T/$name.status" "$grace" "$@" \
		>"$T/$name.out" 2>"$T/$name.err" &
	rpid=$!
	for _ in $(seq 400); do [ -s "$T/$name.pid" ] && break; sleep 0.01; done
	fpid=$(cat "$T/$name.pid" 2>/dev/null) || { echo "FAIL: reaper did not start"; exit 1; }
}

fp_reaped_wait() { # NAME
	wait "$rpid"
	rc=$(sed -n 's/^rc=//p' "$T/$1.status")
	survivors=$(sed -n 's/^survivors=//p' "$T/$1.status")
	settle_ms=$(sed -n 's/^settle_ms=//p' "$T/$1.status")
	how=$(sed -n 's/^how=//p' "$T/$1.status")
	[ -n "$rc" ] || { echo "FAIL: no status from the reaper"; cat "$T/$1.err"; exit 1; }
}

fp_cgroups() { # PID
	find /sys/fs/cgroup -maxdepth 7 -type d -name "firstpass-$1-*" 2>/dev/null
}

fp_cgroup_procs() { # PID
	grep -l "/firstpass-$1-" /proc/[0-9]*/cgroup 2>/dev/null |
		sed 's|/proc/\([0-9]*\)/cgroup|\1|' | grep -vx "$$" || true
}

check_no_leftovers() { # NAME PID
	[ "$survivors" = 0 ] || fail "$1: $survivors process(es) outlived firstpass: $(grep ^survivor "$T/$1.status" | tr '\n' ';')"
	local procs
	procs=$(fp_cgroup_procs "$2")
	[ -z "$procs" ] || fail "$1: processes left in firstpass-$2-* cgroups: $procs"
	if grep -q "firstpass" /proc/mounts; then
		fail "$1: firstpass mounts visible on the host: $(grep firstpass /proc/mounts | head -3)"
	fi
}

check_no_cgroups() { # NAME PID
	local cg
	cg=$(fp_cgroups "$2")
	[ -z "$cg" ] || fail "$1: cgroups left: $(echo "$cg" | head -4 | tr '\n' ' ')"
}

# Every JSON file firstpass wrote parses; no temporary file is left.
check_json_files() { # NAME DIR
	local bad
	bad=$(find "$2" \( -name results.json -o -name meta.json \) -print0 2>/dev/null |
		xargs -0 -r "$PY" -c '
import json, sys
for p in sys.argv[1:]:
    try:
        json.load(open(p))
    except Exception as e:
        print("%s: %s" % (p, e))')
	[ -z "$bad" ] || fail "$1: corrupt JSON: $bad"
	if [ -f "$2/events.jsonl" ]; then
		bad=$("$PY" -c '
import json, sys
for i, l in enumerate(open(sys.argv[1]), 1):
    try:
        json.loads(l)
    except ValueError as e:
        print("line %d: %s" % (i, e))' "$2/events.jsonl")
		[ -z "$bad" ] || fail "$1: events.jsonl has a corrupt line: $bad"
	fi
	bad=$(find "$2" -name '*.tmp.*' -not -path '*/files/*' 2>/dev/null | head -3)
	[ -z "$bad" ] || fail "$1: temporary files left: $bad"
}
