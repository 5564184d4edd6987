"""batch_procs.py - process-tree helper of batch_resume.sh.

    batch_procs.py kill-when-busy PID JSONL N SNAPSHOT
        waits (at most 60 s) until JSONL has >= N complete lines and a
        descendant of PID runs as a sandbox uid (>= 1900000000, root mode)
        or, without root, any grandchild exists; snapshots PID's whole tree
        (pid, start time, uid, command) to SNAPSHOT, then kill -9 PID.
    batch_procs.py survivors SNAPSHOT
        waits up to 3 s for every snapshotted process (same pid AND start
        time, so a reused pid does not count) to be gone; prints the
        survivors and exits 1 if any is left.
"""
import os
import signal
import sys
import time

SANDBOX_UID = 1900000000


def stat(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            s = f.read().decode(errors="replace")
        with open(f"/proc/{pid}/status") as f:
            uid = next(int(l.split()[1]) for l in f if l.startswith("Uid:"))
    except (OSError, StopIteration, ValueError):
        return None
    rest = s[s.rindex(")") + 2:].split()
    return {"ppid": int(rest[1]), "start": rest[19], "uid": uid,
            "comm": s[s.index("(") + 1:s.rindex(")")]}


def tree(root):
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = stat(int(d))
            if st:
                procs[int(d)] = st
    out, todo = {}, [root]
    while todo:
        p = todo.pop()
        if p in procs:
            out[p] = procs[p]
        todo += [c for c, st in procs.items() if st["ppid"] == p and c not in out]
    return out


def lines(path):
    try:
        return open(path, "rb").read().count(b"\n")
    except OSError:
        return 0


def kill_when_busy(pid, jsonl, n, snap):
    deadline = time.time() + 60
    root = os.geteuid() == 0
    while time.time() < deadline:
        t = tree(pid)
        if pid not in t:
            sys.exit("batch exited before it could be killed")
        busy = any(st["uid"] >= SANDBOX_UID for st in t.values()) if root \
            else any(st["ppid"] != pid and p != pid for p, st in t.items())
        if lines(jsonl) >= n and busy:
            with open(snap, "w") as f:
                for p, st in t.items():
                    f.write(f"{p} {st['start']} {st['uid']} {st['comm']}\n")
            os.kill(pid, signal.SIGKILL)
            print(f"killed {pid} with {len(t)} processes in its tree, "
                  f"{lines(jsonl)} tasks recorded")
            return
        time.sleep(0.03)
    sys.exit("timed out waiting for a busy moment to kill the batch")


def survivors(snap):
    want = [l.split(None, 3) for l in open(snap)]
    left = []
    for _ in range(30):
        left = [w for w in want if (stat(int(w[0])) or {}).get("start") == w[1]]
        if not left:
            return
        time.sleep(0.1)
    for w in left:
        print("survivor: pid %s uid %s %s" % (w[0], w[2], w[3].strip()))
    sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "kill-when-busy":
        kill_when_busy(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif sys.argv[1] == "survivors":
        survivors(sys.argv[2])
    else:
        sys.exit(__doc__)
