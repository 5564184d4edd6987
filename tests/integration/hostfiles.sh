# Host files stay invisible: /root, /home, /etc/shadow, the workspace's
# sibling directories, no leaked file descriptors, and the environment of
# the box's own processes (/proc/*/environ) holds no host secret.
. "$(dirname "$0")/lib.sh"
need_sandbox
need_root
secret=$(rand_token)
root_secret=/root/fp-secret-$secret
echo "$secret" >"$root_secret" || fail "cannot plant $root_secret"
chmod 644 "$root_secret"
# /root is 0700: permissions alone would hide that one. This one is world
# readable, so only the sandbox's filesystem view can hide it.
var_secret=/var/tmp/fp-secret-$secret
echo "$secret" >"$var_secret" && chmod 644 "$var_secret" || fail "cannot plant $var_secret"
trap 'rm -f "$root_secret" "$var_secret"; cleanup' EXIT
ws=$(new_ws)
sib=$(mktemp -d "$T/sibling.XXXXXX")
echo "$secret" >"$sib/secret.txt"
chmod 755 "$sib" "$T"
chmod 644 "$sib/secret.txt"
shadow_line=$(head -n 1 /etc/shadow)

# The box prints everything it manages to read; none of it may be a secret.
script='
for f in "$@"; do
	if cat "$f" 2>/dev/null; then echo "READ $f"; fi
done
ls -a /root /home 2>/dev/null
for p in /proc/[0-9]*; do cat "$p/environ" 2>/dev/null | tr "\0" "\n"; done
echo "FDS $(ls /proc/$$/fd | sort -n | tr "\n" " ")"
echo "MOUNTINFO_HOSTPATH $(grep -c "fp-contain" /proc/self/mountinfo)"
'
OPENAI_API_KEY=$secret FP_SECRET=$secret box peek --workspace "$ws" -- /bin/sh -c "$script" sh \
	"$root_secret" "$var_secret" /etc/shadow "$sib/secret.txt" "/work/../$(basename "$sib")/secret.txt" \
	"$(dirname "$ws")/$(basename "$sib")/secret.txt"
expect_rc 0
grep -q "$secret" "$LAST.out" "$LAST.err" && fail "a host secret is readable inside: $(grep -h "$secret" "$LAST.out" "$LAST.err" | head -n 3)"
grep -qF -- "$shadow_line" "$LAST.out" && fail "the host /etc/shadow is readable inside"
grep -q '^READ /etc/shadow' "$LAST.out" && fail "an /etc/shadow is readable inside"
grep -q "fp-secret" "$LAST.out" && fail "/root of the host is listed inside"
fds=$(sed -n 's/^FDS //p' "$LAST.out")
# The shell's own fds: 0 1 2, plus at most the one ls opened for the listing.
case "$fds" in
"0 1 2 "|"0 1 2 3 ") ;;
*) fail "file descriptors leaked into the box: '$fds'" ;;
esac
pass
