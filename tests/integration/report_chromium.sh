#!/bin/bash
# report.html renders in a real browser (headless Chromium): the DOM has a
# row per candidate with its verdict, an SVG timeline with a bar per
# candidate (winner marked, cancelled hatched), no script, and a hostile
# reason ("<script>...") shown as text. The same for the batch page.
. "$(dirname "$0")/run_lib.sh"
. "$(dirname "$0")/batch_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || { echo "SKIP: no chromium (scripts/deps installs it)"; exit $SKIP; }
make_fixtures
HOSTILE='<script>alert(1)</script>'
mkdir -p "$W/hostile"
printf '{"api/main.py": "raise RuntimeError(%s)\\n"}\n' "'$HOSTILE'" >"$W/hostile/h.json"
cat >"$W/tasks.jsonl" <<JSONL
{"id": "example", "goal": "<b>notes</b> & more", "generator": "replay:$EX", "rounds": 1, "jobs": 3}
{"id": "hostile", "compare": ["hostile/h.json", "fail/03-failing-test.json"]}
JSONL
fp_run b batch "$W/tasks.jsonl" --out "$T/out"
check_eq "$rc" 0 "batch exit code"

dom() { # HTML_FILE DOM_OUT
	timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --user-data-dir="$(mktemp -d "$T/chrome.XXXXXX")" \
		--dump-dom "file://$1" >"$2" 2>"$2.err"
	[ -s "$2" ] || { fail "chromium rendered nothing for $1: $(tail -n 5 "$2.err")"; return 1; }
}

for task in example hostile; do
	R=$T/out/tasks/$task
	[ -s "$R/report.html" ] || { fail "no report for $task"; continue; }
	grep -qi '<script' "$R/report.html" && fail "$task: raw <script in the page source"
	dom "$R/report.html" "$T/$task.dom" || continue
	h=""; [ $task = hostile ] && h=$HOSTILE
	"$PY" "$HERE/report_dom.py" "$T/$task.dom" "$R/results.json" $h || fail "$task page"
done
check_eq "$(jq_py "$T/out/tasks/hostile/results.json" 'd["candidates"][0]["reason"]')" \
	"start: RuntimeError: $HOSTILE" "hostile reason reaches the results"
grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' "$T/out/tasks/hostile/report.html" || fail "hostile reason not escaped"
grep -qF '&lt;b&gt;notes&lt;/b&gt; &amp; more' "$T/out/tasks/example/report.html" || fail "goal not escaped"
check_match "$(jq_py "$T/out/tasks/example/results.json" '[c["verdict"] for c in d["candidates"]]')" \
	"'cancelled'" "the example run has a cancelled candidate"

dom "$T/out/report.html" "$T/batch.dom" &&
	{ "$PY" "$HERE/report_dom.py" "$T/batch.dom" "$T/out/results.json" || fail "batch page"; }
grep -q 'id="pass-rate">50.0%' "$T/batch.dom" || fail "batch pass rate 50.0% not shown"
finish
