#!/bin/bash
# A sandbox that cannot be created.
#   1. configuration: a policy whose (non-optional) bind source is missing.
#      `sandbox`, `eval` and `run` exit 2 with a message naming the path:
#      every candidate would fail the same way, so it is a configuration
#      error, not a candidate verdict.
#   2. host: user namespaces refused. firstpass runs inside a user
#      namespace of its own whose user.max_user_namespaces is 0 (the limit
#      is per user namespace, so nothing else on the host is affected).
#      Exit 3 and a message naming user namespaces. With FP_FAULT_GLOBAL=1
#      (root only, not for shared hosts: every sandbox on the host fails
#      meanwhile) the host-wide sysctl is set to 0 for the duration of one
#      command and restored by a trap.
. "$(dirname "$0")/run_lib.sh"
. "$(dirname "$0")/fault_lib.sh"
APP=$SRC/tests/fixtures/notes_app
sed 's|"/etc/ld.so.cache",|"/etc/ld.so.cache", "/nonexistent-fp-fault-bind",|' \
	"$SRC/policies/default.json" >"$T/badbind.json"
grep -q nonexistent-fp-fault-bind "$T/badbind.json" || { echo "cannot make the policy"; exit 1; }

# 1. missing bind source
for cmd in sandbox eval run; do
	case $cmd in
	sandbox) args=(sandbox --policy "$T/badbind.json" -- /bin/true) ;;
	eval) args=(eval --policy "$T/badbind.json" --out "$T/bb-eval" "$APP") ;;
	run) args=(run --policy "$T/badbind.json" --out "$T/bb-run") ;;
	esac
	fp_reaped "bind-$cmd" 5 timeout -s KILL 60 "$FP" "${args[@]}"
	fp_reaped_wait "bind-$cmd"
	echo "bind-$cmd: rc=$rc"
	check_eq "$rc" 2 "bind-$cmd: exit code (configuration error)"
	cat "$T/bind-$cmd.err" "$T/bind-$cmd.out" | grep -q "/nonexistent-fp-fault-bind" || fail "bind-$cmd: message does not name the missing path"
	check_no_leftovers "bind-$cmd" "$fpid"
	check_no_cgroups "bind-$cmd" "$fpid"
done

# 2. user namespaces refused, in a user namespace of our own
if ! unshare -U -r true 2>/dev/null; then
	echo "SKIP: cannot create a user namespace to refuse them in"
	exit 77
fi
for cmd in sandbox eval; do
	case $cmd in
	sandbox) args="sandbox -- /bin/true" ;;
	eval) args="eval --out $T/ns-eval $APP" ;;
	esac
	rc=0
	unshare -U -r sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec "$@"' sh \
		timeout -s KILL 60 "$FP" $args >"$T/ns-$cmd.out" 2>"$T/ns-$cmd.err" || rc=$?
	echo "ns-$cmd: rc=$rc: $(tail -n 1 "$T/ns-$cmd.err")"
	check_eq "$rc" 3 "ns-$cmd: exit code (sandbox unavailable)"
	grep -qi "user namespace" "$T/ns-$cmd.err" || fail "ns-$cmd: message does not name user namespaces"
done

# 3. the host-wide switch, on request only
if [ "${FP_FAULT_GLOBAL:-0}" = 1 ]; then
	old=$(cat /proc/sys/user/max_user_namespaces)
	trap 'echo "$old" >/proc/sys/user/max_user_namespaces; rm -rf "$T"' EXIT
	if ! echo 0 2>/dev/null >/proc/sys/user/max_user_namespaces; then
		echo "global: cannot set user.max_user_namespaces on this host; skipped"
	else
		rc=0
		"$FP" sandbox -- /bin/true >"$T/global.out" 2>"$T/global.err" || rc=$?
		echo "$old" >/proc/sys/user/max_user_namespaces
		check_eq "$(cat /proc/sys/user/max_user_namespaces)" "$old" "global: sysctl restored"
		echo "global: rc=$rc: $(tail -n 1 "$T/global.err")"
		check_eq "$rc" 3 "global: exit code"
		grep -qi "user namespace" "$T/global.err" || fail "global: message does not name user namespaces"
	fi
fi
finish
