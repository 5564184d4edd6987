# A hard link in a workspace to a root-only host file. ro/rw: the box reads
# with its own uid and cannot read it, and setting up an rw box (which hands
# the tree to the box's uid) refuses hard-linked files instead of chowning
# the file behind them. copy (default): firstpass packs the directory with
# the caller's own rights, so the caller shares what it put there, links
# included; a candidate can never create such a link on the host.
. "$(dirname "$0")/lib.sh"
need_sandbox
need_root
ws=$(new_ws)
secret=$(rand_token)
victim=$T/victim-$secret
echo "$secret" >"$victim"
chmod 600 "$victim"
ln "$victim" "$ws/link" 2>/dev/null || skip "cannot hard-link inside '$T'"
owner_before=$(stat -c %u:%g:%a "$victim")
for mode in default ro rw; do
	margs=()
	[ "$mode" = default ] || margs=(--workspace-mode "$mode")
	box "hl-$mode" --workspace "$ws" "${margs[@]}" -- /bin/sh -c 'cat /work/link; echo DONE'
	[ "$mode" = default ] || ! grep -q "$secret" "$LAST.out" ||
		fail "[$mode] a root-only host file was read through a hard link"
	owner=$(stat -c %u:%g:%a "$victim")
	[ "$owner" = "$owner_before" ] || fail "[$mode] setting up the box changed the host file behind a hard link from $owner_before to $owner"
	# A refusal at setup is acceptable (exit 2); anything else must run.
	[ "$BOX_RC" = 2 ] || { expect_rc 0; expect_out '^DONE$'; }
done
pass
