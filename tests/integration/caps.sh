# Inside: no capabilities in any set, no_new_privs, seccomp filter mode,
# uid and gid 1000.
. "$(dirname "$0")/lib.sh"
need_sandbox
ws=$(new_ws caps)
box caps --workspace "$ws" -- /work/caps
expect_rc 0
zero=0000000000000000
for k in CapInh CapPrm CapEff CapBnd CapAmb; do
	v=$(sed -n "s/^$k:[[:space:]]*//p" "$LAST.out")
	expect_eq "$v" "$zero" "$k"
done
expect_eq "$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "$LAST.out")" 1 NoNewPrivs
expect_eq "$(sed -n 's/^Seccomp:[[:space:]]*//p' "$LAST.out")" 2 Seccomp
expect_out '^uid=1000/1000/1000 gid=1000/1000/1000 groups=(1000)?$'
box id -- /usr/bin/id -u
expect_eq "$(cat "$LAST.out")" 1000 "id -u"
pass
