#!/usr/bin/env python3
"""A real HTTP receiver for alert POSTs (what Falcosidekick's input sees), for tests/unit/test_alerts.

Usage: alert_receiver.py OUTFILE [STATUS,...]
Binds 127.0.0.1 on a free port and prints the port on stdout. Answers the Nth POST with the Nth status of the list
(200 once the list is used up) and appends one JSON line per POST to OUTFILE: {"path", "content_type", "status",
"body"} with the body parsed as JSON (None if it is not JSON). Runs until killed."""
import http.server
import json
import sys

out = sys.argv[1]
statuses = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 and sys.argv[2] else []
n = 0


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global n
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        st = statuses[n] if n < len(statuses) else 200
        n += 1
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                "status": st, "body": body}) + "\n")
        self.send_response(st)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
sys.stdout.close()  # the test has what it needs; it may close its end
srv.serve_forever()
