# batch_lib.sh - shared helpers of the batch_*.sh / report_*.sh tests
# (sourced after run_lib.sh, not run). Makes small, fast task fixtures in
# $T/w: replay dirs with one passing or one failing candidate of the
# bundled example, so each task takes about two seconds.
EX=$SRC/examples/notes/candidates

make_fixtures() {
	W=$T/w
	mkdir -p "$W/pass" "$W/fail"
	cp "$EX/06-correct.json" "$W/pass/"
	cp "$EX/03-failing-test.json" "$W/fail/"
}

# rows FILE: "id pass winner" per task of a batch results.json, sorted.
rows() {
	"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for t in sorted(d["tasks"], key=lambda t: t["id"]):
    print(t["id"], t["pass"], t["winner"])' "$1"
}

# jsonl_ids FILE: the ids of a batch.jsonl, one per line, in file order;
# fails the test if a line is not complete JSON.
jsonl_ids() {
	"$PY" -c '
import json, sys
data = open(sys.argv[1], "rb").read()
if data and not data.endswith(b"\n"):
    sys.exit("torn last line in " + sys.argv[1])
for l in data.decode().splitlines():
    print(json.loads(l)["id"])' "$1"
}
