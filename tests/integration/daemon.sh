# A double-forked, setsid'd daemon dies with the box.
. "$(dirname "$0")/lib.sh"
need_sandbox
need_root
ws=$(new_ws daemon)
tag=fpd$(rand_token | head -c 10)
box daemon --workspace "$ws" --workspace-mode rw -- /work/daemon /work "$tag"
expect_rc 0
expect_out '^daemon_started$'
[ -s "$ws/daemon.pid" ] || fail "the daemon left no pid file in the rw workspace"
[ -s "$ws/heartbeat" ] || fail "the daemon left no heartbeat"
hb1=$(stat -c %s "$ws/heartbeat")
ps -eo pid=,comm= | grep -w "$tag" && fail "the daemon '$tag' survives firstpass"
box_gone "$(meta host_uid)"
sleep 0.5
hb2=$(stat -c %s "$ws/heartbeat")
expect_eq "$hb2" "$hb1" "heartbeat size 0.5 s after firstpass returned"
pass
