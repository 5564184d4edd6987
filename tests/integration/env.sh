# The caller's environment does not reach the box: only the policy's
# variables, and never OPENAI_API_KEY.
. "$(dirname "$0")/lib.sh"
need_sandbox
s1=$(rand_token)
s2=$(rand_token)
FP_SECRET=$s1 OPENAI_API_KEY=$s2 OPENAI_BASE_URL=http://127.0.0.1:9/$s1 box env -- /usr/bin/env
expect_rc 0
for f in "$LAST.out" "$LAST.err" "$LAST.meta"; do
	grep -q -e "$s1" -e "$s2" "$f" && fail "a secret of the caller's environment appears in $(basename "$f")"
done
grep -Eq '^(FP_SECRET|OPENAI_API_KEY|OPENAI_BASE_URL)=' "$LAST.out" && fail "a caller variable is visible inside"
grep -q '^PATH=' "$LAST.out" || fail "no PATH inside (policy env missing)"
expect_out '^HOME=/tmp$'
n=$(wc -l <"$LAST.out")
[ "$n" -le 12 ] || fail "$n variables inside, expected only the policy's few"
# --env adds exactly what is asked.
box env2 --env FOO=bar -- /usr/bin/env
expect_out '^FOO=bar$'
pass "$n variables inside"
