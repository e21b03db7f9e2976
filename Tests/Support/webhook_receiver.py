#!/usr/bin/env python3
"""A webhook receiver on loopback for the tests, the browser journey and the bench.

Keep-alive HTTP/1.1 (http.server). Every POST outside /_control is recorded with its headers
and body and answered as configured for its path (status, headers, body, or hold for N
seconds before answering, or close without answering). When a path has signing secrets, each
request is verified with the reference implementation, the PyPI package `standardwebhooks`,
and the verdict per secret is recorded.

Control (JSON):
  POST /_control/<path>   {"status": 200, "headers": [["Retry-After", "7"]], "body": "ok",
                           "hold": 0, "close": false, "secrets": ["whsec_..."]}
  GET  /_requests/<path>  -> [{"path", "headers": [[k, v]], "body", "verified": [true|"why"], "at"}]
  GET  /_count/<path>     -> {"count": n}
Prints "PORT <n>" on its first line of stdout.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from standardwebhooks.webhooks import Webhook
except Exception:  # the bench may run without it; verification is then off
    Webhook = None

lock = threading.Lock()
config = {}
received = {}


def conf(path):
    with lock:
        for p in sorted(config, key=len, reverse=True):
            if path.startswith(p):
                return dict(config[p])
    return {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        if self.path.startswith("/_requests/"):
            path = self.path[len("/_requests"):]
            with lock:
                data = json.dumps(received.get(path, [])).encode()
            self.reply(200, data, [("Content-Type", "application/json")])
        elif self.path.startswith("/_count/"):
            path = self.path[len("/_count"):]
            with lock:
                data = json.dumps({"count": len(received.get(path, []))}).encode()
            self.reply(200, data, [("Content-Type", "application/json")])
        else:
            self.reply(404)

    def do_POST(self):
        body = self.read_body()
        if self.path.startswith("/_control/"):
            path = self.path[len("/_control"):]
            with lock:
                config[path] = json.loads(body or b"{}")
            self.reply(204)
            return
        c = conf(self.path)
        headers = [[k, v] for k, v in self.headers.items()]
        verdicts = []
        if Webhook is not None:
            for secret in c.get("secrets", []):
                try:
                    Webhook(secret).verify(body, {k: v for k, v in self.headers.items()})
                    verdicts.append(True)
                except Exception as e:  # the reason, for the test's message
                    verdicts.append(str(e) or type(e).__name__)
        entry = {"path": self.path, "headers": headers, "body": body.decode("utf-8", "replace"), "verified": verdicts, "at": time.time()}
        with lock:
            received.setdefault(self.path, []).append(entry)
        if c.get("hold"):
            time.sleep(float(c["hold"]))
        if c.get("close"):
            self.close_connection = True
            return
        self.reply(int(c.get("status", 200)), c.get("body", "ok").encode(), [tuple(h) for h in c.get("headers", [])])


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    port = int(args[0]) if args else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    if "--exit-with-stdin" in sys.argv:
        # The test's end closes our stdin: go with it, whatever signals do to wrappers.
        def watch():
            sys.stdin.read()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
