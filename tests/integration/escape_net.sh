# Sockets that are not bound to the network namespace. Abstract unix
# sockets are per namespace: one the host listens on (like X11's or
# systemd's) is unreachable, while the box's own abstract socket works.
# AF_VSOCK is not namespaced at all (a box could talk to the hypervisor or
# to host services on a vsock), and rarely used address families are
# kernel surface (module autoloading, old protocol code): only AF_UNIX,
# AF_INET, AF_INET6 and AF_NETLINK (glibc's getaddrinfo) may be created.
. "$(dirname "$0")/lib.sh"
need_sandbox
ws=$(new_ws escape_probe)
name=fp-escape-$(rand_token)
ready=$T/abstract.ready
"$PY" -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0" + sys.argv[1]); s.listen(8)
open(sys.argv[2], "w").close()
time.sleep(120)' "$name" "$ready" </dev/null >/dev/null 2>&1 &
BG_PIDS+=("$!")
for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.1; done
[ -e "$ready" ] || fail "host abstract listener did not start"
# Control: the host side is really listening.
"$PROBES/escape_probe" "abstract:$name" | grep -qx "abstract:$name=ok" ||
	fail "control: the host cannot reach its own @$name"
fams=""
for i in $(seq 0 45); do fams="$fams af_$i"; done
# shellcheck disable=SC2086
box net --workspace "$ws" -- /work/escape_probe "abstract:$name" abstract_self vsock $fams
expect_rc 0
res() { sed -n "s/^$1=//p" "$LAST.out"; }
expect_eq "$(res abstract_self)" ok "control: the box's own abstract socket"
expect_eq "$(res "abstract:$name")" ECONNREFUSED "connect to the host's @$name"
for i in 1 2 10; do
	expect_eq "$(res "af_$i")" ok "control: socket(family $i)"
done
bad=""
for i in $(seq 0 45); do
	case $i in 1|2|10|16) continue ;; esac
	[ "$(res "af_$i")" != ok ] || bad="$bad $i"
done
[ "$(res vsock)" != ok ] || fail "socket(AF_VSOCK) works inside: vsock is not network-namespaced (host/hypervisor reachable)"
[ -z "$bad" ] || fail "sockets of these address families can be created inside:$bad"
pass
