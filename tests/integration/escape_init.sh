# The box's pid 1 (firstpass's init) shares the commands' uid 1000 but keeps
# its capabilities in the user namespace and is not dumpable: a command can
# neither trace it, read its memory, fds, root, cwd or environment, steal
# its control socket, change its scheduling, limits, nor kill it. Checked
# twice: with the default policy, and with every seccomp rule removed, to
# show which defences do not depend on seccomp (only prlimit64 does).
. "$(dirname "$0")/lib.sh"
need_sandbox
ws=$(new_ws escape_probe)
probes="ptrace_init vm_read_init mem_init environ_init fd_init root_init
	cwd_init prlimit_init kill_init pidfd_getfd_init nice_init
	sched_idle_init affinity_init fds native"
res() { sed -n "s/^$1=//p" "$LAST.out"; }
check() { # check LABEL PROBE...: every listed probe was refused
	local p r bad=""
	for p in "${@:2}"; do
		r=$(res "$p")
		case $r in EPERM|EACCES) ;; *) bad="$bad $p=${r:-missing}" ;; esac
	done
	[ -z "$bad" ] || fail "$1: attacks on pid 1 not refused:$bad"
}
# shellcheck disable=SC2086
box init --workspace "$ws" -- /work/escape_probe $probes
expect_rc 0
expect_eq "$(res native)" ok "control: getpid"
# Only stdin, stdout and stderr: init's control socket (its fd 3) and the
# spawn pipe are closed before exec.
expect_eq "$(res fds)" "0,1,2" "fds of a command"
expect_eq "$(res kill_init)" survived "SIGKILL to pid 1"
check "default policy" ptrace_init vm_read_init mem_init environ_init fd_init \
	root_init cwd_init prlimit_init pidfd_getfd_init nice_init sched_idle_init \
	affinity_init

# The same attacks without any seccomp rule: capabilities (ptrace and
# scheduling need the target's capabilities to be a subset of the
# caller's) and non-dumpability (/proc/1/* owned by the overflow uid) hold
# on their own. prlimit64 on pid 1 has no such guard; the seccomp rule is
# its only defence, which this test documents rather than hides.
pol=$T/no-seccomp.json
"$PY" - "$SRC/policies/default.json" "$pol" <<'PYEOF' || fail "cannot derive a policy without seccomp rules"
import json, sys
src = open(sys.argv[1]).read()
p = json.loads("\n".join(l for l in src.splitlines() if not l.lstrip().startswith("//")))
p["name"] = "escape-no-seccomp-rules"
p["seccomp"]["rules"] = []
json.dump(p, open(sys.argv[2], "w"), indent=1)
PYEOF
# shellcheck disable=SC2086
box init_noseccomp --policy "$pol" --workspace "$ws" -- /work/escape_probe $probes
expect_rc 0
expect_eq "$(res native)" ok "control: getpid"
expect_eq "$(res fds)" "0,1,2" "fds of a command (no seccomp rules)"
expect_eq "$(res kill_init)" survived "SIGKILL to pid 1 (no seccomp rules)"
check "no seccomp rules" ptrace_init vm_read_init mem_init environ_init fd_init \
	root_init cwd_init pidfd_getfd_init nice_init sched_idle_init affinity_init
pass "prlimit64 on pid 1 without the seccomp rule: $(res prlimit_init)"
