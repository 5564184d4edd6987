# Run from a terminal, a box still gets no terminal: stdin becomes
# /dev/null, stdout and stderr are pipes, and commands run in a session of
# their own, so /dev/tty cannot be opened and no TIOCSTI can reach the
# user's shell (CVE-2017-5226 in bubblewrap is this attack).
. "$(dirname "$0")/lib.sh"
need_sandbox
command -v script >/dev/null || skip "no script(1) to provide a terminal"
out=$T/tty.raw
LAST=$T/tty
# script(1) gives firstpass a pty as its controlling terminal and stdio.
timeout -k 5 60 script -qec "'$FP' sandbox -- /bin/sh -c '
for f in 0 1 2; do if [ -t \$f ]; then echo tty_fd\$f=yes; else echo tty_fd\$f=no; fi; done
if (exec 3<>/dev/tty) 2>/dev/null; then echo devtty=open; else echo devtty=refused; fi
'" /dev/null </dev/null >"$out" 2>&1 || true
tr -d '\r' <"$out" >"$LAST.out"
grep -q '^devtty=' "$LAST.out" || fail "the box did not run under script(1)"
# Control: the terminal exists outside (script's own pty).
timeout 10 script -qec "sh -c 'if (exec 3<>/dev/tty) 2>/dev/null; then echo host_devtty=open; fi'" /dev/null \
	</dev/null 2>/dev/null | tr -d '\r' | grep -q '^host_devtty=open' ||
	skip "script(1) does not provide a controlling terminal here"
expect_out '^devtty=refused$'
for f in 0 1 2; do
	expect_out "^tty_fd$f=no$"
done
pass
