# Only a private loopback inside: no other interface, no route, the host's
# loopback unreachable, and a non-loopback address refused locally.
. "$(dirname "$0")/lib.sh"
need_sandbox
ws=$(new_ws netprobe)
host_listener
port=$LISTEN_PORT
box net --workspace "$ws" -- /work/netprobe "$port"
expect_rc 0
expect_out '^ifaces=lo$'
expect_out '^routes=0$'
expect_out '^routes6=0$'
expect_out '^loopback_self=ok$'
hp=$(sed -n 's/^host_port=//p' "$LAST.out")
[ -n "$hp" ] && [ "$hp" != ok ] || fail "the box reached the host's 127.0.0.1:$port (host_port=$hp)"
expect_eq "$(sed -n 's/^testnet=//p' "$LAST.out")" ENETUNREACH "connect to 192.0.2.1"
expect_out '^sys_class_net=absent$'
pass "host_port=$hp"
