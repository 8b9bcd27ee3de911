#!/usr/bin/env python3
"""sink.py: an HTTP server that records every request it gets (for the
notification tests).

    sink.py HOST PORTFILE LOG

Listens on HOST (a free port, written to PORTFILE once listening) and
appends one JSON line per request to LOG: {"path", "method", "headers"
(lower-case names), "body" (text)}.  Answers 200 "ok", except paths that
contain /status/NNN/, answered NNN with the body "refused by the sink".
"""
import http.server
import json
import re
import socketserver
import sys
import threading

host, portfile, log = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        rec = {"path": self.path, "method": self.command, "body": body,
               "headers": {k.lower(): v for k, v in self.headers.items()}}
        with lock, open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        m = re.search(r"/status/(\d{3})/", self.path)
        code = int(m.group(1)) if m else 200
        out = b"refused by the sink" if m else b"ok"
        self.send_response(code)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client closing its kept-alive connection is no news


srv = Server((host, 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
