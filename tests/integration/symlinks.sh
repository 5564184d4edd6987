# Symlinks in the workspace that point at host paths resolve inside the
# box's root, never the host's.
. "$(dirname "$0")/lib.sh"
need_sandbox
need_root
secret=$(rand_token)
root_secret=/root/fp-secret-$secret
echo "$secret" >"$root_secret" || fail "cannot plant $root_secret"
trap 'rm -f "$root_secret"; cleanup' EXIT
ws=$(new_ws)
sib=$(mktemp -d "$T/sibling.XXXXXX")
echo "$secret" >"$sib/secret.txt"
chmod 755 "$T" "$sib"
chmod 644 "$sib/secret.txt"
ln -s /etc/shadow "$ws/shadow"
ln -s ../../ "$ws/up"
ln -s "$root_secret" "$ws/rootsecret"
ln -s "$sib/secret.txt" "$ws/sibsecret"
ln -s "../$(basename "$sib")/secret.txt" "$ws/relsecret"
ln -s / "$ws/hostroot"
shadow_line=$(head -n 1 /etc/shadow)
script='
cd /work
for f in shadow rootsecret sibsecret relsecret up/root/'"$(basename "$root_secret")"' hostroot/etc/shadow; do
	cat "$f" 2>/dev/null && echo "READ $f"
done
ls -a up/ up/root up/tmp hostroot/root 2>/dev/null
find -L /work/up/ -maxdepth 4 -name "secret.txt" 2>/dev/null
echo DONE
'
for mode in default ro rw; do
	margs=()
	[ "$mode" = default ] || margs=(--workspace-mode "$mode")
	box "links-$mode" --workspace "$ws" "${margs[@]}" -- /bin/sh -c "$script"
	expect_rc 0
	expect_out '^DONE$'
	grep -q "$secret" "$LAST.out" && fail "[$mode] a host secret was read through a symlink: $(grep -h "$secret" "$LAST.out" | head -n 2)"
	grep -qF -- "$shadow_line" "$LAST.out" && fail "[$mode] the host /etc/shadow was read through a symlink"
	grep -q "fp-secret" "$LAST.out" && fail "[$mode] the host's /root is listed through a symlink"
	grep -q "sibling\." "$LAST.out" && fail "[$mode] a workspace sibling is listed through ../../"
	grep -q '^READ shadow' "$LAST.out" && fail "[$mode] an /etc/shadow is readable through a symlink"
done
# The links themselves are intact on the host.
[ "$(readlink "$ws/shadow")" = /etc/shadow ] || fail "the shadow symlink changed on the host"
pass
