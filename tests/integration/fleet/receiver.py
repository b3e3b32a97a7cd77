#!/usr/bin/env python3
"""Alertmanager webhook receiver for the fleet test: records every notification it gets as one JSON line
(receive time, request path, the webhook body) in the file named on the command line, and answers 200.
Usage: receiver.py ADDRESS PORT FILE"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        try:
            doc = json.loads(body)
        except ValueError as e:
            self.send_error(400, "not JSON: %s" % e)
            return
        line = json.dumps({"received": time.time(), "path": self.path, "body": doc}, sort_keys=True)
        with open(self.server.out, "a") as f:
            f.write(line + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):  # the test reads the JSON lines, not an access log
        pass


def main():
    addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    srv = ThreadingHTTPServer((addr, port), Recorder)
    srv.out = out
    srv.serve_forever()


if __name__ == "__main__":
    main()
