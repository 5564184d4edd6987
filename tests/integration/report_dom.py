"""report_dom.py - checks a report.html as rendered by a browser.

    report_dom.py DOM_FILE RESULTS_JSON [HOSTILE_TEXT]

DOM_FILE is Chromium's --dump-dom of the page, RESULTS_JSON the
results.json the page was made from. For a run/eval page: one table row
per candidate with its verdict, one timeline bar per candidate, the
winner's bar marked, cancelled bars hatched, an axis. For a batch page: one
row per task with its pass result and a pass-rate chart. Always: no
<script> element, no external resource, and HOSTILE_TEXT (if given) shown
as text. Prints what failed and exits 1.
"""
import json
import sys
from html.parser import HTMLParser


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.elems, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elems.append((tag, a, list(self.stack)))
        if tag not in ("meta", "line", "rect", "br", "img", "link", "input", "path"):
            self.stack.append((tag, a))

    def handle_startendtag(self, tag, attrs):
        self.elems.append((tag, dict(attrs), list(self.stack)))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        self.text.append(data)


def classes(a):
    return (a.get("class") or "").split()


def inside(parents, tag, key, val):
    return any(t == tag and a.get(key) == val for t, a in parents)


def check_run(dom, res, errs):
    cands = res["candidates"]
    rows = [a for t, a, p in dom.elems if t == "tr" and "cand" in classes(a)]
    got = [(a.get("data-id"), a.get("data-verdict")) for a in rows]
    want = [(c["id"], c["verdict"]) for c in cands]
    if got != want:
        errs.append(f"table rows {got} != results {want}")
    bars = [a for t, a, p in dom.elems
            if t == "g" and "bar" in classes(a) and inside(p, "svg", "id", "timeline")]
    if [b.get("data-id") for b in bars] != [c["id"] for c in cands]:
        errs.append(f"timeline bars {[b.get('data-id') for b in bars]} != candidates")
    winners = [b.get("data-id") for b in bars if "winner" in classes(b)]
    if winners != ([res["winner"]] if res["winner"] else []):
        errs.append(f"winner bars {winners}, winner {res['winner']}")
    for c in cands:
        segs = [a for t, a, p in dom.elems if t == "rect" and
                inside(p, "g", "data-id", c["id"]) and
                any(x.startswith("ph-") for x in classes(a))]
        ran = [ph for ph, r in c["phases"].items() if r["started_ms"] is not None]
        if len(segs) != len(ran):
            errs.append(f"{c['id']}: {len(segs)} phase segments, {len(ran)} phases ran")
        hatched = any(t == "rect" and "hatch" in classes(a) and
                      inside(p, "g", "data-id", c["id"]) for t, a, p in dom.elems)
        if hatched != (c["verdict"] == "cancelled"):
            errs.append(f"{c['id']}: hatched={hatched} but verdict {c['verdict']}")
    if not any(t == "g" and "axis" in classes(a) for t, a, p in dom.elems):
        errs.append("timeline has no axis")


def check_batch(dom, res, errs):
    rows = [a for t, a, p in dom.elems if t == "tr" and "task" in classes(a)]
    got = [(a.get("data-id"), a.get("data-verdict")) for a in rows]
    want = [(t["id"], "passed" if t["pass"] else "failed") for t in res["tasks"]]
    if got != want:
        errs.append(f"task rows {got} != results {want}")
    if not any(t == "svg" and a.get("id") == "pass-rates" for t, a, p in dom.elems):
        errs.append("no pass-rate chart")


def main():
    dom = Dom()
    dom.feed(open(sys.argv[1], encoding="utf-8").read())
    res = json.load(open(sys.argv[2]))
    errs = []
    if res["command"] in ("batch", "merge"):
        check_batch(dom, res, errs)
    else:
        check_run(dom, res, errs)
    if any(t == "script" for t, a, p in dom.elems):
        errs.append("the page has a <script> element")
    for t, a, p in dom.elems:
        for k in ("src", "href"):
            v = a.get(k) or ""
            if "://" in v or v.startswith("//"):
                errs.append(f"external reference <{t} {k}={v!r}>")
    if len(sys.argv) > 3 and sys.argv[3] not in "".join(dom.text):
        errs.append(f"hostile text {sys.argv[3]!r} not shown as text")
    for e in errs:
        print("report:", e)
    sys.exit(1 if errs else 0)


if __name__ == "__main__":
    main()
