# Nothing outside the workspace and /tmp is writable: not /usr, /etc, /,
# /proc/sys, /sys, the box's init; the host sees no trace.
. "$(dirname "$0")/lib.sh"
need_sandbox
ws=$(new_ws)
tag=fp-write-$(rand_token)
script='
tag=$1
for d in /usr /usr/bin /etc / /bin /lib /sys /proc /var /run /opt /srv /boot /root /home; do
	if (echo x >"$d/$tag") 2>/dev/null; then echo "WROTE $d/$tag"; fi
	if mkdir "$d/$tag.d" 2>/dev/null; then echo "MKDIR $d/$tag.d"; fi
done
for f in /proc/sys/kernel/hostname /proc/sys/kernel/core_pattern /proc/sys/vm/overcommit_memory /proc/sysrq-trigger /etc/passwd /usr/bin/env /proc/1/mem /proc/1/environ; do
	if [ -w "$f" ]; then echo "WRITABLE $f"; fi
done
if (echo fp-sandbox >/proc/sys/kernel/hostname) 2>/dev/null; then echo "WROTE /proc/sys/kernel/hostname"; fi
if (echo x >/dev/fp-note) 2>/dev/null; then echo "NOTE_DEV_WRITABLE"; fi
if touch /work/ok 2>/dev/null && touch /tmp/ok 2>/dev/null; then echo "WORK_TMP_OK"; fi
'
box write --workspace "$ws" -- /bin/sh -c "$script" sh "$tag"
expect_rc 0
grep -E '^(WROTE|MKDIR|WRITABLE) ' "$LAST.out" && fail "wrote outside the workspace: $(grep -E '^(WROTE|MKDIR|WRITABLE) ' "$LAST.out" | tr '\n' ' ')"
expect_out '^WORK_TMP_OK$'
# A writable /dev stays inside the box (its own small tmpfs): noted only.
grep -q '^NOTE_DEV_WRITABLE' "$LAST.out" && note "note: /dev is writable inside the box"
for d in /usr /usr/bin /etc / /bin /lib /dev /var /run /opt /srv /boot /root /home /tmp; do
	[ ! -e "$d/$tag" ] && [ ! -e "$d/$tag.d" ] || fail "the host has $d/$tag after the box"
done
pass
