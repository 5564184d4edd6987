# Filling the default (copy) workspace and /tmp stops at their caps with ENOSPC or
# EFBIG, and the host workspace is untouched.
. "$(dirname "$0")/lib.sh"
need_sandbox
ws=$(new_ws diskfill)
echo original >"$ws/keep.txt"
before=$(cd "$ws" && find . -printf '%p %s %m\n' | sort | sha256sum)
box fillws --workspace "$ws" --wall-seconds 60 -- /work/diskfill /work
expect_rc 0
line=$(grep '^big_error=' "$LAST.out") || fail "diskfill printed no result"
note "workspace: $line"
case $line in
*'big_error=ENOSPC'*|*'big_error=EFBIG'*) ;;
*) fail "filling /work did not end in ENOSPC/EFBIG: $line" ;;
esac
total=$(echo "$line" | sed 's/.*total_bytes=\([0-9]*\).*/\1/')
[ "$total" -lt $((2048 << 20)) ] || fail "wrote $total bytes into the copied workspace: no cap"
# Tens of MiB got written first: the stop is the cap, not a read-only /work.
[ "$total" -ge $((32 << 20)) ] || fail "only $total bytes written to /work before the error"
after=$(cd "$ws" && find . -printf '%p %s %m\n' | sort | sha256sum)
[ "$before" = "$after" ] || fail "the default mode changed the host workspace: $(ls -la "$ws")"
expect_eq "$(cat "$ws/keep.txt")" original "host file content"

box filltmp --workspace "$ws" --wall-seconds 60 -- /work/diskfill /tmp
expect_rc 0
line=$(grep '^big_error=' "$LAST.out") || fail "diskfill printed no result for /tmp"
note "/tmp: $line"
case $line in
*'big_error=ENOSPC'*|*'big_error=EFBIG'*) ;;
*) fail "filling /tmp did not end in ENOSPC/EFBIG: $line" ;;
esac
total=$(echo "$line" | sed 's/.*total_bytes=\([0-9]*\).*/\1/')
[ "$total" -le $(((64 << 20) + (1 << 20))) ] || fail "wrote $total bytes into /tmp, cap is 64 MiB"
[ "$total" -ge $((32 << 20)) ] || fail "only $total bytes written to /tmp before the error"
pass
