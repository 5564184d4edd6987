# Two boxes serve 127.0.0.1:8000 at the same time, each talking to its own
# server: every box has a network namespace of its own.
. "$(dirname "$0")/lib.sh"
need_sandbox
ws=$(new_ws)
cat >"$ws/srv.py" <<'PYEOF'
import http.server, sys, threading, time, urllib.request

tag = sys.argv[1].encode()

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(tag)))
        self.end_headers()
        self.wfile.write(tag)

    def log_message(self, *args):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 8000), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
start = int(time.time() * 1000)

def get():
    return urllib.request.urlopen("http://127.0.0.1:8000/", timeout=5).read().decode()

a = get()
time.sleep(2)
b = get()
print("served", a, b, start, int(time.time() * 1000))
PYEOF
box_bg one --workspace "$ws" -- /usr/bin/python3 /work/srv.py one
p1=$BOX_PID
box_bg two --workspace "$ws" -- /usr/bin/python3 /work/srv.py two
p2=$BOX_PID
box_wait one "$p1"
expect_rc 0
read -r w1 a1 b1 s1 e1 <"$T/one.out" || fail "box one printed nothing"
box_wait two "$p2"
expect_rc 0
read -r w2 a2 b2 s2 e2 <"$T/two.out" || fail "box two printed nothing"
expect_eq "$w1 $a1 $b1" "served one one" "box one"
expect_eq "$w2 $a2 $b2" "served two two" "box two"
[ "$s1" -lt "$e2" ] && [ "$s2" -lt "$e1" ] || fail "the two servers did not run at the same time ($s1-$e1, $s2-$e2)"
pass
