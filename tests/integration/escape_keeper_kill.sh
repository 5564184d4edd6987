# SIGKILL of firstpass (the keeper) while its box runs a daemon that
# ignores every catchable signal and has left the command's session: every
# process of the box is gone within seconds. Init sees EOF on its control
# socket and exits, which ends the pid namespace. (Init's PR_SET_PDEATHSIG
# does not do it: the kernel clears the parent-death signal when init
# changes its uid during setup.)
. "$(dirname "$0")/lib.sh"
need_sandbox
need_root
ws=$(new_ws)
script='
( setsid sh -c "trap \"\" HUP INT TERM QUIT USR1 USR2; sleep 300" </dev/null >/dev/null 2>&1 & ) &
trap "" HUP INT TERM
echo up >/work/ready
sleep 300
'
BOX_TIMEOUT=120 box_bg keeper --workspace "$ws" --workspace-mode rw -- /bin/sh -c "$script"
for _ in $(seq 100); do [ -s "$ws/ready" ] && break; sleep 0.1; done
[ -s "$ws/ready" ] || fail "the box did not start"
uid=$(stat -c %u "$ws/ready")
sleep 0.3
n=$(ps -eo uid= | awk -v u="$uid" '$1 == u' | wc -l)
[ "$n" -ge 3 ] || fail "expected the box's init, shell and daemon under host uid $uid, found $n processes"
keeper=$(pgrep -P "$BOX_PID" -x firstpass)
[ -n "$keeper" ] || fail "cannot find the firstpass process under $BOX_PID"
kill -KILL "$keeper"
wait "$BOX_PID" 2>/dev/null
for _ in $(seq 50); do
	[ -z "$(ps -eo uid= | awk -v u="$uid" '$1 == u')" ] && break
	sleep 0.1
done
box_gone "$uid"
pass "$n box processes, all gone after SIGKILL of the keeper"
