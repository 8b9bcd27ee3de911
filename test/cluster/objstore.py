#!/usr/bin/env python3
"""objstore.py: fill the test S3 and Azure Blob servers (servers.sh) — the
tests' writer, never the product's reader.

Python's standard library only, so it runs on a fresh machine: a small
SigV4 signer for S3 and a Shared Key signer for Azure Blob, written from
the providers' documentation (the product's own signers are in
lib/source/s3.c and azblob.c; these are a second, independent reading).

  objstore.py s3 mkbucket BUCKET
  objstore.py s3 put BUCKET KEY FILE|-            (- reads stdin)
  objstore.py s3 rm BUCKET KEY
  objstore.py s3 rmbucket BUCKET                  (empties it first)
  objstore.py s3 fill BUCKET PREFIX N             (N small objects PREFIXi.yaml)
  objstore.py az mkbucket|put|rm|rmbucket|fill    (a container; same arguments)
  objstore.py az sas CONTAINER PERMS EXPIRY        (a service SAS, e.g. rl 2030-01-01T00:00:00Z)

Environment (servers.env): S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY,
S3_REGION; AZBLOB_URL, AZBLOB_ACCOUNT, AZBLOB_KEY.
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def quote(s, safe="/"):
    return urllib.parse.quote(s, safe=safe + "-_.~")


class Conn:
    """One keep-alive connection per thread."""

    def __init__(self, host):
        self.host = host
        self.c = None

    def do(self, method, path, headers, body=b""):
        for attempt in range(3):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, timeout=60)
            try:
                self.c.request(method, path, body=body, headers=headers)
                r = self.c.getresponse()
                data = r.read()
                return r.status, data
            except (ConnectionError, http.client.HTTPException):
                self.c.close()
                self.c = None
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")


# ---------------------------------------------------------------- S3
class S3:
    def __init__(self):
        self.host = os.environ["S3_ENDPOINT"]
        self.ak = os.environ["S3_ACCESS_KEY"]
        self.sk = os.environ["S3_SECRET_KEY"]
        self.region = os.environ.get("S3_REGION", "us-east-1")
        self.conn = Conn(self.host)

    def req(self, method, path, query="", body=b""):
        now = datetime.datetime.now(datetime.timezone.utc)
        amz = now.strftime("%Y%m%dT%H%M%SZ")
        day = amz[:8]
        ph = hashlib.sha256(body).hexdigest()
        hdrs = {"host": self.host, "x-amz-content-sha256": ph, "x-amz-date": amz}
        names = sorted(hdrs)
        creq = "\n".join([method, path, query] + ["%s:%s" % (n, hdrs[n]) for n in names] +
                         ["", ";".join(names), ph])
        scope = "%s/%s/s3/aws4_request" % (day, self.region)
        sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + self.sk).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        hdrs["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
            self.ak, scope, ";".join(names), sig)
        hdrs["Content-Length"] = str(len(body))
        return self.conn.do(method, path + ("?" + query if query else ""), hdrs, body)

    def mkbucket(self, b):
        """A fresh, empty bucket (an existing one is emptied)."""
        st, data = self.req("PUT", "/" + quote(b))
        if st == 409:
            for k in self.keys(b):
                self.rm(b, k)
            return 200, b""
        return st, data

    def put(self, b, key, data):
        return self.req("PUT", "/%s/%s" % (quote(b), quote(key)), body=data)

    def rm(self, b, key):
        return self.req("DELETE", "/%s/%s" % (quote(b), quote(key)))

    def keys(self, b):
        import re
        out, token = [], None
        while True:
            q = ("continuation-token=%s&" % quote(token, "") if token else "") + "list-type=2"
            st, data = self.req("GET", "/" + quote(b), q)
            if st != 200:
                raise SystemExit("list %s: HTTP %d %s" % (b, st, data[:300]))
            txt = data.decode()
            out += [urllib.parse.unquote(k) for k in re.findall(r"<Key>([^<]*)</Key>", txt)]
            m = re.search(r"<NextContinuationToken>([^<]*)<", txt)
            if "<IsTruncated>true" not in txt or not m:
                return out
            token = m.group(1)

    def rmbucket(self, b):
        for k in self.keys(b):
            self.rm(b, k)
        return self.req("DELETE", "/" + quote(b))


# ---------------------------------------------------------------- Azure Blob
class Az:
    def __init__(self):
        u = urllib.parse.urlsplit(os.environ["AZBLOB_URL"])
        self.host = u.netloc
        self.base = u.path.rstrip("/")  # "/devstoreaccount1" (path-style)
        self.account = os.environ["AZBLOB_ACCOUNT"]
        self.key = base64.b64decode(os.environ["AZBLOB_KEY"])
        self.conn = Conn(self.host)

    def req(self, method, path, query=None, body=b"", extra=None):
        hdrs = {"x-ms-date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%a, %d %b %Y %H:%M:%S GMT"), "x-ms-version": "2021-08-06"}
        hdrs.update(extra or {})
        full = self.base + path
        clen = str(len(body)) if body else ""
        ctype = "application/octet-stream" if body else ""
        canon_h = "".join("%s:%s\n" % (n, hdrs[n]) for n in sorted(hdrs) if n.startswith("x-ms-"))
        canon_r = "/" + self.account + full
        for n in sorted(query or {}):
            canon_r += "\n%s:%s" % (n.lower(), query[n])
        sts = "\n".join([method, "", "", clen, "", ctype, "", "", "", "", "", ""]) + "\n" + canon_h + canon_r
        sig = base64.b64encode(hmac.new(self.key, sts.encode(), hashlib.sha256).digest()).decode()
        hdrs["Authorization"] = "SharedKey %s:%s" % (self.account, sig)
        hdrs["Content-Length"] = str(len(body))
        if ctype:
            hdrs["Content-Type"] = ctype
        q = "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote) if query else ""
        return self.conn.do(method, full + q, hdrs, body)

    def mkbucket(self, c):
        """A fresh, empty container (an existing one is emptied)."""
        st, data = self.req("PUT", "/" + quote(c), {"restype": "container"})
        if st == 409:
            for k in self.keys(c):
                self.rm(c, k)
            return 201, b""
        return st, data

    def keys(self, c):
        import html
        import re
        out, marker = [], None
        while True:
            q = {"restype": "container", "comp": "list"}
            if marker:
                q["marker"] = marker
            st, data = self.req("GET", "/" + quote(c), q)
            if st != 200:
                raise SystemExit("list %s: HTTP %d %s" % (c, st, data[:300]))
            txt = data.decode("utf-8-sig")
            out += [html.unescape(k) for k in re.findall(r"<Name>([^<]*)</Name>", txt)]
            m = re.search(r"<NextMarker>([^<]+)</NextMarker>", txt)
            if not m:
                return out
            marker = html.unescape(m.group(1))

    def put(self, c, key, data):
        return self.req("PUT", "/%s/%s" % (quote(c), quote(key)), body=data,
                        extra={"x-ms-blob-type": "BlockBlob"})

    def rm(self, c, key):
        return self.req("DELETE", "/%s/%s" % (quote(c), quote(key)))

    def rmbucket(self, c):
        """Azure deletes a container with its blobs."""
        return self.req("DELETE", "/" + quote(c), {"restype": "container"})

    def sas(self, c, perms, expiry):
        """A service SAS for container c (sr=c), version 2020-12-06 rules."""
        sv = "2021-08-06"
        fields = [perms, "", expiry, "/blob/%s/%s" % (self.account, c), "", "", "http,https", sv,
                  "c", "", "", "", "", "", "", ""]
        sig = base64.b64encode(hmac.new(self.key, "\n".join(fields).encode(),
                                        hashlib.sha256).digest()).decode()
        return urllib.parse.urlencode({"sv": sv, "sr": "c", "sp": perms, "se": expiry,
                                       "spr": "http,https", "sig": sig})


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    store = S3() if argv[1] == "s3" else Az()
    op, args = argv[2], argv[3:]
    if op == "sas":
        print(store.sas(*args))
        return
    if op == "fill":
        b, prefix, n = args[0], args[1], int(args[2])

        tl = threading.local()

        def one(i):
            if not hasattr(tl, "store"):
                tl.store = S3() if argv[1] == "s3" else Az()
            st, data = tl.store.put(b, "%s%05d.yaml" % (prefix, i), b"i: %d\n" % i)
            if st not in (200, 201):
                raise SystemExit("put: HTTP %d %s" % (st, data[:300]))
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(one, range(n)))
        return
    if op == "put":
        data = sys.stdin.buffer.read() if args[2] == "-" else open(args[2], "rb").read()
        st, body = store.put(args[0], args[1], data)
    elif op == "rm":
        st, body = store.rm(args[0], args[1])
    elif op == "mkbucket":
        st, body = store.mkbucket(args[0])
    elif op == "rmbucket":
        st, body = store.rmbucket(args[0])
    else:
        raise SystemExit(__doc__)
    if st not in (200, 201, 202, 204):
        raise SystemExit("%s %s: HTTP %d %s" % (op, " ".join(args), st, body[:500].decode(errors="replace")))


if __name__ == "__main__":
    main(sys.argv)
