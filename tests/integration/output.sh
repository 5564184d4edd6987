# 300 MB of output: firstpass returns promptly and keeps at most the cap.
. "$(dirname "$0")/lib.sh"
need_sandbox
box flood -- /usr/bin/head -c 300000000 /dev/zero
[ "$BOX_MS" -lt 15000 ] || fail "took ${BOX_MS} ms"
size=$(stat -c %s "$LAST.out")
[ "$size" -le $(((1024 << 10) + (64 << 10))) ] || fail "$size bytes of stdout passed a 1024 KiB cap"
[ "$size" -ge $((512 << 10)) ] || fail "only $size bytes of stdout were forwarded before the 1024 KiB cap"
expect_eq "$(meta output_truncated)" true "output_truncated"
expect_eq "$(meta killed_by)" output "killed_by"
note "stdout: $size bytes in ${BOX_MS} ms"

box flood2 --output-kb 16 -- /bin/sh -c 'while :; do echo AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; done >&2'
[ "$BOX_MS" -lt 15000 ] || fail "stderr flood took ${BOX_MS} ms"
size=$(stat -c %s "$LAST.err")
[ "$size" -le $(((16 << 10) + (4 << 10))) ] || fail "$size bytes of stderr passed a 16 KiB cap"
[ "$size" -ge $((8 << 10)) ] || fail "only $size bytes of stderr were forwarded"
expect_eq "$(meta output_truncated)" true "output_truncated (stderr)"
expect_eq "$(meta killed_by)" output "killed_by (stderr)"
pass
