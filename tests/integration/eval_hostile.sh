#!/bin/bash
# Hostile file maps are invalid and nothing lands outside the workspace.
. "$(dirname "$0")/run_lib.sh"
mkdir -p "$T/in" "$T/deep/a/b"
printf '{"api/main.py": "print(1)", "../../x": "pwned"}' >"$T/in/dotdot.json"
printf '{"api/main.py": "print(1)", "/etc/x": "pwned"}' >"$T/in/abs.json"
printf '{"api/main.py": "print(1)", "a/../../x": "pwned"}' >"$T/in/inner.json"
printf 'no json here at all' >"$T/in/prose.json"

cd "$T/deep/a/b" || exit 1
fp_run hostile eval --out "$T/deep/a/b/out" "$T/in/dotdot.json" "$T/in/abs.json" "$T/in/inner.json" "$T/in/prose.json"
check_eq "$rc" 1 "exit code (none passed)"
R=$T/deep/a/b/out/results.json
check_eq "$(jq_py "$R" '[c["verdict"] for c in d["candidates"]]')" \
	"['invalid', 'invalid', 'invalid', 'invalid']" "verdicts"
check_match "$(jq_py "$R" 'd["candidates"][0]["reason"]')" '^validate: .*\.\.' "dotdot reason names the path"
check_match "$(jq_py "$R" 'd["candidates"][1]["reason"]')" '^validate: .*/etc/x' "abs reason names the path"
found=$(find / -maxdepth 1 -name x -newer "$T/in/dotdot.json" 2>/dev/null; find "$T" -name x)
check_eq "$found" "" "no file named x written anywhere"
[ -e /etc/x ] && fail "/etc/x exists"
for id in dotdot abs inner; do
	[ -e "$T/deep/a/b/out/candidates/$id/files/api" ] && fail "$id was materialized"
done
finish
