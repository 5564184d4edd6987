# A setuid-root copy of id in the workspace does not give euid 0.
. "$(dirname "$0")/lib.sh"
need_sandbox
need_root
ws=$(new_ws)
cp /usr/bin/id "$ws/id-suid"
chown root:root "$ws/id-suid"
chmod 6755 "$ws/id-suid"
[ -u "$ws/id-suid" ] || skip "cannot make a setuid file here"
for mode in default ro rw; do
	margs=()
	[ "$mode" = default ] || margs=(--workspace-mode "$mode")
	box "suid-$mode" --workspace "$ws" "${margs[@]}" -- /bin/sh -c '/work/id-suid -u; /work/id-suid -g; echo rc=$?'
	expect_rc 0
	ids=$(grep -E '^[0-9]+$' "$LAST.out" | tr '\n' ' ')
	expect_eq "$ids" "1000 1000 " "[$mode] euid and egid of a setuid-root id"
done
pass
