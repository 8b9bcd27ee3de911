#!/usr/bin/env python3
"""sink.py: an HTTP server that records every request it gets (for the
notification tests).

    sink.py HOST PORTFILE LOG

Listens on HOST (a free port, written to PORTFILE once listening) and
appends one JSON line per request to LOG: {"path", "method", "headers"
(lower-case names), "body" (text)}.  Answers 200 "ok", except paths that
contain /status/NNN/, answered NNN with the body "refused by the sink".

It is also a small forge for commit statuses, as GitHub (/api/v3),
GitLab (/api/v4) and Gitea (/api/v1) answer them: a POST to a commit's
statuses is kept, and a GET of that commit's statuses lists what was kept,
newest first (GitLab's with its own field names); Gitea's /api/v1/version
answers.  cflux's requests (its user agent) and the others' are kept
apart, so that two clients compared side by side do not see each other's.
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

    def do_GET(self):
        self.do_POST()

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
        forge = self.forge(body)
        if forge is not None:
            out = json.dumps(forge).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


statuses = {}  # (api prefix, commit, cflux's?) -> [status], newest first


def commit_key(path):
    """The (API prefix, commit) a statuses path is about, or None."""
    m = re.match(r"(.*/api/v[134])/.*?/(?:statuses|commits)/([0-9a-f]{40,64})(?:/statuses)?(?:\?.*)?$", path)
    return (m.group(1), m.group(2)) if m else None


def forge_answer(self, body):
    if self.path.endswith("/api/v1/version"):
        return {"version": "1.22.0"}
    key = commit_key(self.path)
    if key is None:
        return None
    key += (self.headers.get("User-Agent", "").startswith("cflux"),)
    with lock:
        if self.command == "GET":
            return statuses.get(key, [])
        st = json.loads(body)
        if "name" in st:  # GitLab's own field names
            st = {"sha": key[1], "status": st["state"], "name": st["name"],
                  "description": st.get("description", "")}
        statuses.setdefault(key, []).insert(0, st)
        return st


Handler.forge = forge_answer


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
