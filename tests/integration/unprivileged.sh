# firstpass run by an unprivileged user (nobody) still makes a box: uid 1000
# inside, the caller's uid outside, no capabilities.
. "$(dirname "$0")/lib.sh"
need_root
nobody=65534
if ! setpriv --reuid=$nobody --regid=$nobody --clear-groups unshare -Ur /bin/true 2>/dev/null; then
	skip "unprivileged user namespaces are disabled on this host"
fi
chmod 755 "$T"
bin=$(mktemp -d "$T/bin.XXXXXX")
chmod 755 "$bin"
cp "$FP" "$bin/firstpass"
cp -r "$SRC/policies" "$bin/policies"
chmod -R a+rX "$bin"
ws=$(mktemp -d "$T/ws.XXXXXX")
cp "$PROBES/caps" "$ws/caps"
chown -R $nobody:$nobody "$ws"
out=$T/unpriv
LAST=$out
t0=$(now_ms)
timeout -k 5 60 setpriv --reuid=$nobody --regid=$nobody --clear-groups \
	env -i PATH=/usr/bin:/bin HOME=/ FIRSTPASS_POLICY_DIR="$bin/policies" \
	"$bin/firstpass" sandbox --meta "$ws/meta.json" --workspace "$ws" -- /work/caps \
	>"$out.out" 2>"$out.err" </dev/null
BOX_RC=$?
cp "$ws/meta.json" "$out.meta" 2>/dev/null
[ $BOX_RC != 3 ] || fail "unprivileged firstpass says the host cannot sandbox, though unshare -Ur works: $(cat "$out.err")"
expect_rc 0
expect_out '^uid=1000/1000/1000 '
expect_out '^CapEff:[[:space:]]*0000000000000000$'
expect_out '^Seccomp:[[:space:]]*2$'
expect_eq "$(meta host_uid)" $nobody "host_uid of an unprivileged caller"
pass "cgroup=$(meta cgroup), $(( $(now_ms) - t0 )) ms"
