# run_lib.sh - shared helpers for the run_*.sh / eval_*.sh integration
# tests (sourced, not run). Usage in a test: . "$(dirname "$0")/run_lib.sh"
# then FP=<firstpass binary>, T=<fresh temp dir>, and:
#   fp_run NAME ARGS...   runs firstpass, rc in $rc, output in $T/NAME.{out,err}
#   jq_py FILE EXPR       evaluates a Python expression on the JSON as `d`
#   check COND MSG        fails the test with MSG unless COND (shell test)
set -u
FP=${1:?usage: $0 FIRSTPASS_BINARY}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
T=$(mktemp -d /tmp/fp-it.XXXXXX)
trap 'rm -rf "$T"' EXIT
# The offline paths must be used: no key may reach the tests.
unset OPENAI_API_KEY OPENAI_BASE_URL
SKIP=77
fails=0

fp_run() { # NAME ARGS...
	local name=$1; shift
	rc=0
	"$FP" "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	if [ "$rc" = 3 ]; then
		echo "SKIP: the sandbox cannot be set up on this host:"
		cat "$T/$name.err"
		exit $SKIP
	fi
}

jq_py() { # FILE EXPR
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

check_eq() { # ACTUAL EXPECTED MSG
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

check_match() { # ACTUAL ERE MSG
	printf '%s' "$1" | grep -Eq -- "$2" || fail "$3: '$1' does not match /$2/"
}

# A policy like the default with a short test timeout (for hangs).
short_policy() { # FILE SECONDS
	sed "s/\"test_seconds\": *[0-9]*/\"test_seconds\": $2/" \
		"$SRC/policies/default.json" >"$1"
	grep -q "\"test_seconds\": $2" "$1" || { echo "cannot make $1"; exit 1; }
}

finish() {
	if [ "$fails" -gt 0 ]; then
		echo "$fails check(s) failed; outputs in $T (kept)"
		trap - EXIT
		for f in "$T"/*.out "$T"/*.err; do
			[ -s "$f" ] && { echo "== $f"; tail -n 40 "$f"; }
		done
		exit 1
	fi
	echo "ok"
	exit 0
}
