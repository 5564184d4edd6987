# Two concurrent boxes run as uid 1000 inside and as different, fresh host
# uids outside.
. "$(dirname "$0")/lib.sh"
need_sandbox
need_root
box_bg a -- /bin/sh -c 'sleep 1; id -u'
pa=$BOX_PID
box_bg b -- /bin/sh -c 'sleep 1; id -u'
pb=$BOX_PID
box_wait a "$pa"
expect_rc 0
expect_eq "$(cat "$T/a.out")" 1000 "uid inside box a"
ua=$(meta host_uid)
box_wait b "$pb"
expect_rc 0
expect_eq "$(cat "$T/b.out")" 1000 "uid inside box b"
ub=$(meta host_uid)
[ "$ua" != "$ub" ] || fail "two concurrent boxes share host uid $ua"
for u in "$ua" "$ub"; do
	[ "$u" != 0 ] && [ "$u" != "$(id -u)" ] || fail "a box ran as host uid $u"
	[ "$u" -ge 1000 ] || fail "host uid $u may belong to a system account"
	getent passwd "$u" >/dev/null && fail "host uid $u belongs to an existing account: $(getent passwd "$u")"
done
pass "host uids $ua and $ub"
