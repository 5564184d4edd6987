# The seccomp deny list: dangerous syscalls fail with EPERM (clone3 with
# ENOSYS so glibc falls back to clone), while ordinary ones still work.
. "$(dirname "$0")/lib.sh"
need_sandbox
ws=$(new_ws try-syscall)
blocked="ptrace mount umount2 pivot_root chroot unshare_user unshare_net
	unshare_mount setns clone_newuser keyctl add_key request_key bpf
	perf_event_open userfaultfd kexec_load init_module finit_module reboot
	swapon ioctl_tiocsti io_uring_setup open_by_handle_at process_vm_readv acct"
sockets="socket_packet socket_raw"
allowed="getpid chdir socket_inet clone3"
# shellcheck disable=SC2086
box sys --workspace "$ws" -- /work/try-syscall $allowed $sockets $blocked
expect_rc 0
res() { sed -n "s/^$1=//p" "$LAST.out"; }
# Controls: a probe that cannot tell allowed from blocked proves nothing.
expect_eq "$(res getpid)" ok "getpid"
expect_eq "$(res chdir)" EFAULT "chdir(bad pointer)"
expect_eq "$(res socket_inet)" ok "socket(AF_INET, SOCK_STREAM)"
expect_eq "$(res clone3)" ENOSYS "clone3"
bad=""
for s in $blocked; do
	r=$(res "$s")
	[ "$r" = EPERM ] || bad="$bad $s=${r:-missing}"
done
for s in $sockets; do
	r=$(res "$s")
	case $r in EPERM|EACCES|EAFNOSUPPORT) ;; *) bad="$bad $s=${r:-missing}" ;; esac
done
[ -z "$bad" ] || fail "not blocked with EPERM:$bad"
pass
