#!/usr/bin/python3
# registry-token.py: the token server of the token-auth test registry
# (docker-registry `auth: token`).  Test tool only.
#
#   registry-token.py [ADDR:]PORT KEY.pem CERT.pem ISSUER USER PASSWORD
#
# GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...] answers
# {"token": <JWT>, "access_token": <same>, "expires_in": 300}.  The JWT is
# ES256, signed by KEY with CERT in its x5c header (the registry trusts
# CERT as rootcertbundle).  With "Authorization: Basic USER:PASSWORD" every
# asked action is granted; anonymously only "pull" on repositories under
# "public/"; wrong credentials get 401.  Every request is logged to stdout
# (no secrets): method, path, whether credentials came, what was granted.
# Needs Debian's python3-jwt and python3-cryptography.
import base64, http.server, json, os, sys, time, urllib.parse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

port, key_path, cert_path, issuer, user, password = sys.argv[1:7]
key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)
cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stdout.write("%s\n" % (fmt % args))
        sys.stdout.flush()

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if code == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="cflux-test-token"')
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        if u.path != "/token":
            return self.answer(404, {"error": "not found"})
        q = urllib.parse.parse_qs(u.query)
        authed = False
        hdr = self.headers.get("Authorization", "")
        if hdr.startswith("Basic "):
            try:
                u_, _, p_ = base64.b64decode(hdr[6:]).decode().partition(":")
            except Exception:
                u_, p_ = "", ""
            if (u_, p_) != (user, password):
                print("token: bad credentials for %r" % u_, flush=True)
                return self.answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                                     "message": "bad credentials"}]})
            authed = True
        access = []
        for scope in q.get("scope", []):
            parts = scope.split(":")
            if len(parts) != 3 or parts[0] != "repository":
                continue
            asked = parts[2].split(",")
            granted = asked if authed else \
                [a for a in asked if a == "pull" and parts[1].startswith("public/")]
            access.append({"type": "repository", "name": parts[1], "actions": granted})
        now = int(time.time())
        claims = {"iss": issuer, "sub": user if authed else "", "aud": q.get("service", [""])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": base64.b16encode(os.urandom(8)).decode(), "access": access}
        tok = jwt.encode(claims, key, algorithm="ES256", headers={"x5c": [x5c]})
        print("token: authed=%s access=%s" % (authed, json.dumps(access)), flush=True)
        self.answer(200, {"token": tok, "access_token": tok, "expires_in": 300,
                          "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})


addr, _, port = port.rpartition(":")
http.server.ThreadingHTTPServer((addr or "127.0.0.1", int(port)), Handler).serve_forever()
