# The other system call ABIs of x86_64 cannot bypass the filter: getpid
# through int 0x80 (i386) and with the x32 bit set kills the process with
# SIGSYS (SECCOMP_RET_KILL_PROCESS for a foreign architecture), while the
# native call works.
. "$(dirname "$0")/lib.sh"
[ "$(uname -m)" = x86_64 ] || skip "x86_64 only"
need_sandbox
ws=$(new_ws escape_probe)
box abi --workspace "$ws" -- /work/escape_probe native int80 x32
expect_rc 0
res() { sed -n "s/^$1=//p" "$LAST.out"; }
expect_eq "$(res native)" ok "control: native getpid"
# SIGSYS is 31 on x86_64.
expect_eq "$(res int80)" signal31 "getpid through int 0x80"
expect_eq "$(res x32)" signal31 "getpid through the x32 ABI"
pass "host without the box: int80=$("$PROBES/escape_probe" int80 | sed 's/.*=//') x32=$("$PROBES/escape_probe" x32 | sed 's/.*=//')"
