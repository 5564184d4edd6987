# lib.sh - shared helpers of the sandbox containment tests.
#
# Every test is `bash NAME.sh FIRSTPASS PROBE_DIR SOURCE_DIR` (see
# tests/probes/CMakeLists.txt). It sources this file, attacks a real box and
# exits 0 (contained), 1 (not contained or broken; the reason is printed)
# or 77 (this host lacks a feature; the reason is printed).
set -u
set -o pipefail

FP=${1:?usage: NAME.sh FIRSTPASS PROBE_DIR SOURCE_DIR}
PROBES=${2:?probe dir}
SRC=${3:?source dir}
PY=/usr/bin/python3
TEST_NAME=$(basename "$0" .sh)
# Scratch for this test; workspaces are made inside, so every workspace has
# siblings that a box must not see.
T=$(mktemp -d /tmp/fp-contain-XXXXXX)
BG_PIDS=()
MAIN_PID=$BASHPID

cleanup() {
	local p
	# Only the test's own shell cleans up, never a $(...) subshell.
	[ "$BASHPID" = "$MAIN_PID" ] || return 0
	for p in "${BG_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

# The last box's files, shown when a test fails.
LAST=""
dump_last() {
	[ -n "$LAST" ] || return 0
	local f
	for f in "$LAST.out" "$LAST.err" "$LAST.meta"; do
		[ -f "$f" ] || continue
		echo "--- $f (first 40 lines)" >&2
		head -c 4000 "$f" | head -n 40 >&2
	done
}

fail() {
	echo "FAIL [$TEST_NAME]: $*" >&2
	dump_last
	exit 1
}

skip() {
	echo "SKIP [$TEST_NAME]: $*"
	exit 77
}

pass() {
	echo "PASS [$TEST_NAME]${1:+: $1}"
	exit 0
}

note() { echo "[$TEST_NAME] $*"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A random token for secrets and names.
rand_token() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# need_sandbox: the binary runs and this host can make boxes. Exit 3 from
# firstpass is only a skip when the kernel itself refuses namespaces.
need_sandbox() {
	[ -x "$FP" ] || fail "no firstpass binary at '$FP'"
	local out rc
	out=$(timeout -k 5 30 "$FP" sandbox -- /bin/true 2>&1)
	rc=$?
	[ $rc = 0 ] && return 0
	if [ $rc = 3 ]; then
		if unshare -Urnmpf --mount-proc /bin/true 2>/dev/null; then
			fail "firstpass says the host cannot sandbox (exit 3) but unshare works: $out"
		fi
		skip "host cannot create sandboxes: $out"
	fi
	fail "'firstpass sandbox -- /bin/true' exited $rc: $out"
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (fresh host uid per box)"
}

# new_ws [PROBE...]: a fresh workspace dir holding copies of the probes.
# Made readable by others: the copy (overlay) mode refuses a workspace the
# box's uid could not read itself.
new_ws() {
	local ws p
	ws=$(mktemp -d "$T/ws.XXXXXX") || fail "mktemp"
	chmod 755 "$ws"
	for p in "$@"; do
		cp "$PROBES/$p" "$ws/$p" || fail "cannot copy probe '$p'"
	done
	echo "$ws"
}

# box NAME [firstpass sandbox args...]: run one box, never longer than
# BOX_TIMEOUT (default 60) seconds. Sets BOX_RC, BOX_MS and LAST; output in
# $T/NAME.out, .err, .meta.
box() {
	local name=$1 t0
	shift
	LAST="$T/$name"
	t0=$(now_ms)
	timeout -k 5 "${BOX_TIMEOUT:-60}" "$FP" sandbox --meta "$LAST.meta" "$@" \
		>"$LAST.out" 2>"$LAST.err" </dev/null
	BOX_RC=$?
	BOX_MS=$(( $(now_ms) - t0 ))
	if [ $BOX_RC = 124 ] || [ $BOX_RC = 137 ] && [ "$BOX_MS" -ge $(( ${BOX_TIMEOUT:-60} * 1000 )) ]; then
		fail "firstpass did not return within ${BOX_TIMEOUT:-60}s"
	fi
	return 0
}

# box_bg NAME [args...]: like box, in the background; pid in BOX_PID.
# Collect with box_wait NAME PID (sets BOX_RC).
box_bg() {
	local name=$1
	shift
	( exec timeout -k 5 "${BOX_TIMEOUT:-60}" "$FP" sandbox --meta "$T/$name.meta" \
		"$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null ) &
	BOX_PID=$!
	BG_PIDS+=("$BOX_PID")
}
box_wait() {
	LAST="$T/$1"
	wait "$2"
	BOX_RC=$?
}

# meta KEY [FILE]: a field of the meta JSON (default: the last box), printed
# as JSON scalars are written (true/false/null, numbers, bare strings).
meta() {
	local file=${2:-$LAST.meta}
	[ -s "$file" ] || fail "no meta file '$file' (firstpass exit $BOX_RC)"
	"$PY" - "$file" "$1" <<'PYEOF' || fail "meta file '$file' is not valid JSON or lacks '$1'"
import json, sys
with open(sys.argv[1]) as f:
    m = json.load(f)
if sys.argv[2] not in m:
    sys.exit(1)
v = m[sys.argv[2]]
print(json.dumps(v) if not isinstance(v, str) else v)
PYEOF
}

expect_eq() { # expect_eq ACTUAL EXPECTED WHAT
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

expect_rc() { # expect_rc EXPECTED
	[ "$BOX_RC" = "$1" ] || fail "firstpass exit code $BOX_RC, expected $1"
}

expect_out() { # expect_out REGEX: a line of the last box's stdout matches
	grep -Eq -- "$1" "$LAST.out" || fail "stdout lacks /$1/"
}

# box_gone HOST_UID: no process of that host uid is left. Only meaningful
# when the uid is the box's own (root mode), so it refuses uid 0 and ours.
box_gone() {
	local uid=$1 left
	case $uid in ''|*[!0-9]*) fail "host_uid '$uid' is not a number" ;; esac
	[ "$uid" != 0 ] || fail "box ran as host uid 0"
	[ "$uid" != "$(id -u)" ] || fail "box ran as the caller's own uid $uid"
	left=$(ps -eo uid=,pid=,stat=,comm= | awk -v u="$uid" '$1 == u')
	[ -z "$left" ] || fail "processes of the box (host uid $uid) survive firstpass:
$left"
}

# host_listener: a host TCP listener on 127.0.0.1 on a free port, which is
# stored in LISTEN_PORT (not printed: a $(...) would wait for the listener).
host_listener() {
	local pf="$T/listener.port"
	"$PY" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)' "$pf" </dev/null >/dev/null 2>&1 &
	BG_PIDS+=("$!")
	local i
	for i in $(seq 50); do
		[ -s "$pf" ] && break
		sleep 0.1
	done
	[ -s "$pf" ] || fail "host listener did not start"
	LISTEN_PORT=$(cat "$pf")
}
