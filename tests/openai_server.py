#!/usr/bin/python3
"""A local OpenAI-compatible HTTP server for tests (stdlib only).

Serves POST .../responses and POST .../chat/completions on 127.0.0.1 (an
ephemeral port, printed on stdout line 1 and written to --port-file).

The behaviour is chosen by --scenario, else by the request's model name: the
part before an optional '#' is the scenario, the whole name keys the
per-scenario state ("ratelimit#a" and "ratelimit#b" each get their own first
429). Scenarios:

  ok (default)       the pass candidate as the reply text
  fenced             the candidate inside prose and a ```json fence
  prose              the candidate embedded in a sentence, no fence
  toplevel           /responses reply with a top-level "output_text" only
  invalid            HTTP 200 with a body that is not valid JSON
  ratelimit          429 + Retry-After: 1 the first time, then ok
  error500-then-ok   500 the first time, then ok
  error500           always 500
  slow               sleeps --slow-seconds (default 5) before answering
  delay1             sleeps 1 s before answering (concurrency checks)
  truncated          Content-Length larger than the body, then close
  stall              half the body, then silence for --slow-seconds
  unauth             401;  notfound 404;  forbidden 403
  badrequest         400 with a long message holding control characters
  echokey            400 whose message echoes the Authorization header
  huge               a 1 MB reply
  feedback           the fail candidate unless the prompt contains
                     --require-in-prompt, else the pass candidate

Every request is appended to --log as one JSON line:
{"path", "headers", "body", "scenario"}. Exits by itself after --max-seconds.
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_CANDIDATE = json.dumps({
    "api/main.py": "print('hello')\n",
    "tests/test_main.py": "def test_ok():\n    assert True\n",
})

ARGS = None
LOG_LOCK = threading.Lock()
STATE_LOCK = threading.Lock()
SEEN = {}


def read_text(path, default):
    if not path:
        return default
    with open(path, encoding="utf-8") as f:
        return f.read()


def prompt_of(body):
    """All user-visible prompt text of a request, for marker checks."""
    if not isinstance(body, dict):
        return ""
    parts = []
    if isinstance(body.get("input"), str):
        parts.append(body["input"])
    for m in body.get("messages") or []:
        if isinstance(m, dict) and isinstance(m.get("content"), str):
            parts.append(m["content"])
    return "\n".join(parts)


def first_time(key):
    with STATE_LOCK:
        n = SEEN.get(key, 0)
        SEEN[key] = n + 1
        return n == 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def send_json(self, status, obj, extra_headers=()):
        data = json.dumps(obj).encode()
        self.send_raw(status, data, extra_headers)

    def send_raw(self, status, data, extra_headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def reply_text(self, text, chat, toplevel=False):
        if chat:
            obj = {"id": "chatcmpl-1", "object": "chat.completion",
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant",
                                            "content": text}}]}
        elif toplevel:
            obj = {"id": "resp_1", "object": "response",
                   "status": "completed", "output_text": text}
        else:
            # Split over two output_text parts after a reasoning item, as
            # the real API may do: the client must concatenate them.
            half = len(text) // 2
            obj = {"id": "resp_1", "object": "response",
                   "status": "completed",
                   "output": [
                       {"type": "reasoning", "summary": []},
                       {"type": "message", "role": "assistant", "content": [
                           {"type": "output_text", "text": text[:half],
                            "annotations": []},
                           {"type": "output_text", "text": text[half:],
                            "annotations": []}]}]}
        self.send_json(200, obj)

    def error(self, status, message, extra_headers=()):
        self.send_json(status, {"error": {"message": message,
                                          "type": "test_error"}},
                       extra_headers)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        model = body.get("model", "") if isinstance(body, dict) else ""
        scenario = ARGS.scenario or model.split("#")[0] or "ok"
        with LOG_LOCK, open(ARGS.log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"path": self.path,
                                "headers": dict(self.headers.items()),
                                "body": body, "scenario": scenario,
                                "time": time.time()}) + "\n")
        chat = self.path.endswith("/chat/completions")
        if not chat and not self.path.endswith("/responses"):
            self.error(404, "unknown path %s" % self.path)
            return
        try:
            self.handle_scenario(scenario, model, body, chat)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def handle_scenario(self, scenario, model, body, chat):
        cand = read_text(ARGS.pass_candidate, DEFAULT_CANDIDATE)
        if scenario == "fenced":
            self.reply_text("Here is the repository:\n```json\n" + cand +
                            "\n```\nRun it with python3 api/main.py.", chat)
        elif scenario == "prose":
            self.reply_text("Sure! The repository is " + cand +
                            " Hope this helps.", chat)
        elif scenario == "toplevel":
            self.reply_text(cand, chat, toplevel=True)
        elif scenario == "invalid":
            self.send_raw(200, b'{"id": "resp_1", "output": [{"type": ')
        elif scenario == "ratelimit" and first_time(model):
            self.error(429, "Rate limit reached", [("Retry-After", "1")])
        elif scenario == "error500-then-ok" and first_time(model):
            self.error(500, "The server had an error")
        elif scenario == "error500":
            self.error(500, "The server had an error")
        elif scenario in ("slow", "delay1"):
            time.sleep(ARGS.slow_seconds if scenario == "slow" else 1)
            self.reply_text(cand, chat)
        elif scenario == "stall":
            data = json.dumps({"output_text": cand}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            time.sleep(ARGS.slow_seconds)
            self.close_connection = True
        elif scenario == "truncated":
            data = json.dumps({"output_text": cand}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data) + 1000))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif scenario == "unauth":
            self.error(401, "Incorrect API key provided: sk-te***cdef.")
        elif scenario == "notfound":
            self.error(404, "The model `%s` does not exist" % model)
        elif scenario == "forbidden":
            self.error(403, "You are not allowed to sample from this model")
        elif scenario == "badrequest":
            self.error(400, "Invalid\x01value\tfor 'temperature':\n" +
                       "x" * 400)
        elif scenario == "echokey":
            self.error(400, "bad header: " +
                       self.headers.get("Authorization", ""))
        elif scenario == "huge":
            self.reply_text("y" * (1 << 20), chat)
        elif scenario == "feedback":
            marker = ARGS.require_in_prompt
            if marker and marker in prompt_of(body):
                self.reply_text(cand, chat)
            else:
                self.reply_text(read_text(ARGS.fail_candidate,
                                          DEFAULT_CANDIDATE), chat)
        else:
            self.reply_text(cand, chat)


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scenario")
    p.add_argument("--log", default=os.devnull)
    p.add_argument("--port-file")
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("--slow-seconds", type=float, default=5)
    p.add_argument("--require-in-prompt")
    p.add_argument("--pass-candidate")
    p.add_argument("--fail-candidate")
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if ARGS.port_file:
        tmp = ARGS.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, ARGS.port_file)
    print(port, flush=True)
    # Bounded life: a crashed test must not leave us running.
    killer = threading.Timer(ARGS.max_seconds, lambda: os._exit(0))
    killer.daemon = True
    killer.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
