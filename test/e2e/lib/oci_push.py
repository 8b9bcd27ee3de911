#!/usr/bin/python3
# oci_push.py: push a file as the one layer of a Flux artifact (test tool).
#
#   oci_push.py REGISTRY_URL REPO TAG FILE [--user U --password P]
#               [--declare-size N] [--media-type T]
#
# Uploads FILE (POST, then a monolithic PUT with its digest) and the
# config "{}", then PUTs an OCI manifest with Flux's media types and
# annotations under TAG.  --declare-size writes another size for the layer
# than its real one (a manifest that lies).  Prints "TAG@sha256:<manifest>".
# Exists because hostile layers (a tar with "..", a gzip bomb) cannot come
# from a well-behaved pusher; stdlib only, basic auth only.
import argparse, base64, hashlib, json, sys, urllib.error, urllib.parse, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("registry")
ap.add_argument("repo")
ap.add_argument("tag")
ap.add_argument("file")
ap.add_argument("--user")
ap.add_argument("--password")
ap.add_argument("--declare-size", type=int)
ap.add_argument("--media-type", default="application/vnd.cncf.flux.content.v1.tar+gzip")
a = ap.parse_args()
auth = {}
if a.user:
    auth["Authorization"] = "Basic " + base64.b64encode(f"{a.user}:{a.password}".encode()).decode()


def req(method, url, data=None, headers=None):
    h = dict(auth)
    h.update(headers or {})
    r = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def push_blob(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    st, hd, body = req("POST", f"{a.registry}/v2/{a.repo}/blobs/uploads/")
    if st != 202:
        sys.exit(f"POST upload: {st} {body[:200]}")
    loc = urllib.parse.urljoin(a.registry + "/", hd["Location"])
    loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(digest)
    st, _, body = req("PUT", loc, data, {"Content-Type": "application/octet-stream"})
    if st != 201:
        sys.exit(f"PUT blob: {st} {body[:200]}")
    return digest, len(data)


layer = open(a.file, "rb").read()
ld, ls = push_blob(layer)
cd, cs = push_blob(b"{}")
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.cncf.flux.config.v1+json", "digest": cd, "size": cs},
    "layers": [{"mediaType": a.media_type, "digest": ld,
                "size": a.declare_size if a.declare_size is not None else ls}],
    "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z",
                    "org.opencontainers.image.source": "oci_push.py",
                    "org.opencontainers.image.revision": a.tag},
}
body = json.dumps(manifest).encode()
st, _, resp = req("PUT", f"{a.registry}/v2/{a.repo}/manifests/{a.tag}", body,
                  {"Content-Type": manifest["mediaType"]})
if st != 201:
    sys.exit(f"PUT manifest: {st} {resp[:200]}")
print(f"{a.tag}@sha256:{hashlib.sha256(body).hexdigest()}")
