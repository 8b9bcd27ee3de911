#!/usr/bin/env python3
"""image.py: OCI images without a Docker daemon, reproducibly.

    image.py operator BINARY OUTDIR        the cflux-operator image
    image.py files OUTDIR [options]        an image of given files (pause, test app, CoreDNS)
    image.py push OUTDIR HOST/REPO:TAG     push an OCI layout to a registry (plain HTTP)
    image.py archive OUTDIR NAME OUT.tar   an OCI archive for `ctr images import`

Every command that builds writes an OCI image layout to OUTDIR and prints
the manifest digest.  Two builds of the same inputs give the same digest:
tar entries are sorted, owned by 0:0, dated SOURCE_DATE_EPOCH (default 0),
without user or group names; gzip carries no name and no time; JSON is
written with sorted keys; the image config has no build time.

The operator image is built from Debian packages, the exact versions that
are installed here (the binary was linked against them): the packages
owning every shared library that the binary, ssh, ssh-keygen and gpgv load
(found with ldd and dpkg -S; for the libraries the binary opens at their
first use, OPENED_SONAMES, their files and theirs), plus openssh-client, gpgv, ca-certificates
and libc6.  Each .deb is fetched with `apt-get download PKG=VERSION` into a
cache (~/.cache/cflux/debs) and unpacked in memory; documentation other
than copyright files, manual pages and locales are left out, setuid and
setgid bits dropped.  The tree uses bookworm's merged /usr layout.  The
CA bundle is built as update-ca-certificates builds it (every certificate
of /usr/share/ca-certificates, in name order).  /etc/passwd and
/etc/group name root and nobody (65534), the user the image runs as.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request

EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
DEB_CACHE = os.path.join(os.environ.get("CFLUX_CACHE", os.path.expanduser("~/.cache/cflux")), "debs")
OPERATOR_TOOLS = ["/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/bin/gpgv"]
OPERATOR_PACKAGES = ["libc6", "openssh-client", "gpgv", "ca-certificates"]
# Libraries the operator opens at their first use (lib/base/dl.h), which ldd
# on the binary does not show: their files and what they load go in too.
OPENED_SONAMES = ["libcurl.so.4", "libarchive.so.13"]
SKIP = re.compile(r"^usr/share/(man|info|locale|lintian|bug|bash-completion|zsh|menu|doc-base)/|"
                  r"^usr/share/doc/(?!.*/copyright$)|^etc/(init\.d|logrotate\.d|cron\.)")


def die(msg):
    sys.exit("image: error: " + msg)


class Tree:
    """A filesystem tree in memory: path -> (type, mode, data or link target)."""

    def __init__(self):
        self.entries = {}

    def _parents(self, path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            p = "/".join(parts[:i])
            if p not in self.entries:
                self.entries[p] = ("dir", 0o755, None)

    def dir(self, path, mode=0o755):
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = ("dir", mode, None)

    def file(self, path, data, mode=0o644):
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = ("file", mode & 0o1777, data)

    def symlink(self, path, target):
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = ("link", 0o777, target)

    def layer(self):
        """The gzip'd tar of the tree, and the digest of the uncompressed tar."""
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tf:
            for path in sorted(self.entries):
                kind, mode, data = self.entries[path]
                ti = tarfile.TarInfo(path)
                ti.mtime = EPOCH
                ti.mode = mode
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = ""
                if kind == "dir":
                    ti.type = tarfile.DIRTYPE
                    tf.addfile(ti)
                elif kind == "link":
                    ti.type = tarfile.SYMTYPE
                    ti.linkname = data
                    tf.addfile(ti)
                else:
                    ti.size = len(data)
                    tf.addfile(ti, io.BytesIO(data))
        tar = raw.getvalue()
        gz = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=gz, mtime=0, compresslevel=6) as g:
            g.write(tar)
        return gz.getvalue(), "sha256:" + hashlib.sha256(tar).hexdigest()


class CachedLayer:
    """A layer kept on disk (PATH.tar.gz, PATH.diffid), made from a Tree once."""

    def __init__(self, path, tree=None):
        self.path = path
        if tree is not None:
            gz, diff = tree.layer()
            os.makedirs(os.path.dirname(path), exist_ok=True)
            for ext, data in ((".diffid", diff.encode()), (".tar.gz", gz)):
                with open(path + ext + ".tmp", "wb") as f:
                    f.write(data)
                os.replace(path + ext + ".tmp", path + ext)

    def layer(self):
        with open(self.path + ".tar.gz", "rb") as f:
            gz = f.read()
        with open(self.path + ".diffid") as f:
            return gz, f.read().strip()


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def jdump(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def write_blob(out, data):
    d = sha(data)
    p = os.path.join(out, "blobs", "sha256", d[7:])
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    return {"digest": d, "size": len(data)}


def write_image(out, trees, config):
    """An OCI layout in `out` of the layers `trees` and the image `config`."""
    if os.path.isdir(out):
        for root, dirs, files in os.walk(out, topdown=False):
            for n in files:
                os.unlink(os.path.join(root, n))
            for n in dirs:
                os.rmdir(os.path.join(root, n))
    os.makedirs(out, exist_ok=True)
    layers, diff_ids = [], []
    for t in trees:
        gz, diff = t.layer()
        d = write_blob(out, gz)
        d["mediaType"] = MT_LAYER
        layers.append(d)
        diff_ids.append(diff)
    cfg = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    c = write_blob(out, jdump(cfg))
    c["mediaType"] = MT_CONFIG
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": c, "layers": layers}
    m = write_blob(out, jdump(manifest))
    m["mediaType"] = MT_MANIFEST
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(out, "index.json"), "wb") as f:
        f.write(jdump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [m]}))
    return m["digest"]


# ---------------------------------------------------------------- Debian packages

def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def owners_of(paths):
    """The packages that installed `paths`, by one dpkg -S (merged-/usr aliases tried)."""
    cands = {}
    for p in paths:
        alt = p[4:] if p.startswith("/usr/") else "/usr" + p
        cands[p] = (p, alt)
    r = subprocess.run(["dpkg", "-S"] + sorted({c for v in cands.values() for c in v}),
                       capture_output=True, text=True)
    owner = {}
    for line in r.stdout.splitlines():
        if line.startswith("diversion ") or ": " not in line:
            continue
        pkgs, path = line.split(": ", 1)
        owner[path.strip()] = pkgs.split(",")[0].split(":")[0].strip()
    out = set()
    for p, (a, b) in cands.items():
        o = owner.get(a) or owner.get(b)
        if not o:
            die("no Debian package owns %s (dpkg -S)" % p)
        out.add(o)
    return out


def shared_libs(binary):
    out = run("ldd", binary)
    libs = []
    for line in out.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if m:
            libs.append(m.group(1))
        elif "not found" in line:
            die("%s: %s" % (binary, line.strip()))
    return libs


def installed_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version} ${Architecture}", pkg],
                       capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        die("package %s is not installed (run tools/deps.sh)" % pkg)
    v, a = r.stdout.split()
    return v, a


def candidate_version(pkg):
    out = run("apt-cache", "policy", pkg)
    m = re.search(r"Candidate:\s*(\S+)", out)
    return m.group(1) if m and m.group(1) != "(none)" else None


def deb_path(pkg, ver, arch):
    return os.path.join(DEB_CACHE, "%s_%s_%s.deb" % (pkg, ver.replace(":", "%3a"), arch))


def prefetch_debs(pkgs):
    """One `apt-get download` for every installed version not cached yet: apt
    fetches them over one pipelined connection, where a call per package costs
    a round of lock, cache load and connection each (minutes on a slow mirror).
    When an installed version is gone from the archive (a newer security
    update replaced it) apt fetches nothing and names it: ask again with the
    version apt would install now, as fetch_deb() does; what still fails,
    fetch_deb() reports package by package."""
    want = {}
    for p in pkgs:
        v, a = installed_version(p)
        if not os.path.exists(deb_path(p, v, a)):
            want[p] = v
    os.makedirs(DEB_CACHE, exist_ok=True)
    for attempt in range(2):
        if not want:
            return
        r = subprocess.run(["apt-get", "download"] + ["%s=%s" % kv for kv in sorted(want.items())],
                           cwd=DEB_CACHE, capture_output=True, text=True)
        if r.returncode == 0:
            return
        gone = re.findall(r"download version '[^']*' of '([^':]+)", r.stderr)
        if not gone:
            return
        for p in gone:
            c = candidate_version(p)
            if c and c != want.get(p):
                want[p] = c
            else:
                want.pop(p, None)


def fetch_deb(pkg):
    """The .deb of the installed version of `pkg`, or (when the archive no longer
    has it, as after a binNMU) of the version apt would install now; and that version."""
    v, a = installed_version(pkg)
    if os.path.exists(deb_path(pkg, v, a)):
        return deb_path(pkg, v, a), v
    tried = []
    if not candidate_version(pkg):
        # No package lists (a machine whose lists were cleaned): fetch them once.
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
    for ver in (v, candidate_version(pkg)):
        if not ver or ver in tried:
            continue
        tried.append(ver)
        path = deb_path(pkg, ver, a)
        if os.path.exists(path):
            return path, ver
        os.makedirs(DEB_CACHE, exist_ok=True)
        r = subprocess.run(["apt-get", "download", "%s=%s" % (pkg, ver)], cwd=DEB_CACHE,
                           capture_output=True, text=True)
        if r.returncode == 0 and os.path.exists(path):
            if ver != v:
                print("image: %s %s is no longer in the archive: using %s" % (pkg, v, ver),
                      file=sys.stderr)
            return path, ver
    die("apt-get download %s (versions %s) failed: run apt-get update" % (pkg, ", ".join(tried)))


def merged_usr(path):
    """bookworm's merged /usr: /bin, /sbin, /lib, /lib64 live under /usr."""
    for top in ("bin", "sbin", "lib", "lib64"):
        if path == top or path.startswith(top + "/"):
            return "usr/" + path
    return path


def unpack_deb(tree, deb):
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf.getmembers():
            p = merged_usr(os.path.normpath(m.name).lstrip("./").lstrip("/"))
            if not p or p == "." or SKIP.match(p):
                continue
            if m.isdir():
                tree.dir(p, m.mode & 0o777)
            elif m.issym():
                tree.symlink(p, m.linkname)
            elif m.islnk():
                src = merged_usr(os.path.normpath(m.linkname).lstrip("./"))
                tree.file(p, tree.entries[src][2], tree.entries[src][1])
            elif m.isfile():
                tree.file(p, tf.extractfile(m).read(), m.mode)


def ca_bundle(tree):
    certs = sorted(p for p in tree.entries
                   if p.startswith("usr/share/ca-certificates/") and p.endswith(".crt"))
    if not certs:
        die("no certificates in usr/share/ca-certificates")
    pem = b""
    for p in certs:
        c = tree.entries[p][2]
        pem += c if c.endswith(b"\n") else c + b"\n"
    tree.file("etc/ssl/certs/ca-certificates.crt", pem)


def base_files(tree):
    for d in ("bin", "sbin", "lib", "lib64"):
        tree.symlink(d, "usr/" + d)
    tree.file("etc/passwd", b"root:x:0:0:root:/root:/usr/sbin/nologin\n"
              b"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    tree.file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    tree.file("etc/nsswitch.conf", b"passwd: files\ngroup: files\nhosts: files dns\n")
    tree.dir("tmp", 0o1777)
    tree.dir("data", 0o755)


def opened_libs(binary):
    """The files of OPENED_SONAMES, each checked to be named in `binary`."""
    with open(binary, "rb") as f:
        data = f.read()
    cache = run("ldconfig", "-p")
    out = []
    for so in OPENED_SONAMES:
        if so.encode() not in data:
            die("%s does not name %s: update OPENED_SONAMES in %s" % (binary, so, __file__))
        m = re.search(r"^\s*%s \(libc6[^)]*\) => (\S+)$" % re.escape(so), cache, re.M)
        if not m:
            die("%s is not installed (ldconfig -p; run tools/deps.sh)" % so)
        out.append(m.group(1))
    return out


def debs_for(binaries, extra, opened=()):
    libs = set(opened)
    for b in list(binaries) + list(opened):
        libs.update(shared_libs(b))
    return sorted(set(extra) | owners_of(libs))


def stripped(binary):
    tmp = binary + ".image-strip"
    subprocess.run(["strip", "--strip-debug", "-o", tmp, binary], check=True)
    with open(tmp, "rb") as f:
        data = f.read()
    os.unlink(tmp)
    return data


def cmd_operator(a):
    if not os.access(a.binary, os.X_OK):
        die("%s: not an executable" % a.binary)
    pkgs = debs_for([a.binary] + OPERATOR_TOOLS, OPERATOR_PACKAGES, opened_libs(a.binary))
    # The base layer depends only on the packages and on this file: cached.
    with open(__file__, "rb") as f:
        me = f.read()
    key = sha(me + jdump([[p, installed_version(p)[0]] for p in pkgs]).replace(b'"', b""))[7:23]
    cached = os.path.join(os.path.dirname(DEB_CACHE), "image-base", key)
    if os.path.exists(cached + ".tar.gz"):
        base = CachedLayer(cached)
    else:
        base = Tree()
        base_files(base)
        lock = []
        prefetch_debs(pkgs)
        for p in pkgs:
            deb, ver = fetch_deb(p)
            unpack_deb(base, deb)
            lock.append("%s %s" % (p, ver))
        ca_bundle(base)
        # Record what the image was built from, for people and for reproducing it.
        base.file("usr/share/cflux/packages.txt", ("\n".join(lock) + "\n").encode())
        base = CachedLayer(cached, base)
    app = Tree()
    app.file("usr/local/bin/cflux-operator", stripped(a.binary), 0o755)
    digest = write_image(a.out, [base, app], {
        "User": "65534:65534",
        "Entrypoint": ["/usr/local/bin/cflux-operator"],
        "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=/tmp", "HOME=/tmp"],
        "WorkingDir": "/",
        "Labels": {"org.opencontainers.image.title": "cflux-operator",
                   "org.opencontainers.image.version": a.version,
                   "org.opencontainers.image.source": "https://github.com/cflux/cflux"},
    })
    print(digest)


def cmd_files(a):
    t = Tree()
    for spec in a.file or []:
        src, dst, mode = spec.split(":")
        with open(src, "rb") as f:
            t.file(dst, f.read(), int(mode, 8))
    for spec in a.deb_file or []:
        pkg, src, dst = spec.split(":")
        staged = Tree()
        unpack_deb(staged, fetch_deb(pkg)[0])
        kind, mode, data = staged.entries[merged_usr(src.strip("/"))]
        t.file(dst, data, mode)
    for spec in a.symlink or []:
        dst, target = spec.split(":")
        t.symlink(dst, target)
    for spec in a.text or []:
        dst, text = spec.split(":", 1)
        t.file(dst, text.encode() + b"\n")
    for d in a.dir or []:
        t.dir(d, 0o1777 if d.strip("/") == "tmp" else 0o755)
    cfg = {"Env": ["PATH=/bin:/usr/bin"]}
    if a.entrypoint:
        cfg["Entrypoint"] = json.loads(a.entrypoint)
    if a.cmd:
        cfg["Cmd"] = json.loads(a.cmd)
    if a.user:
        cfg["User"] = a.user
    print(write_image(a.out, [t], cfg))


# ---------------------------------------------------------------- registry and archive

def manifest_of(out):
    with open(os.path.join(out, "index.json")) as f:
        m = json.load(f)["manifests"][0]
    return m


def blob(out, digest):
    with open(os.path.join(out, "blobs", "sha256", digest[7:]), "rb") as f:
        return f.read()


def cmd_push(a):
    m = re.match(r"^([^/]+)/(.+):([^:/]+)$", a.ref)
    if not m:
        die("push: want HOST:PORT/REPO:TAG, got %s" % a.ref)
    host, repo, tag = m.groups()
    base = "http://%s/v2/%s" % (host, repo)
    man = manifest_of(a.out)
    mbody = blob(a.out, man["digest"])
    mj = json.loads(mbody)
    for d in [mj["config"]] + mj["layers"]:
        try:
            urllib.request.urlopen(urllib.request.Request(
                "%s/blobs/%s" % (base, d["digest"]), method="HEAD"), timeout=30)
            continue
        except urllib.error.HTTPError as e:
            if e.code != 404:
                die("push: HEAD blob: %s" % e)
        r = urllib.request.urlopen(urllib.request.Request(
            base + "/blobs/uploads/", method="POST", data=b""), timeout=30)
        loc = r.headers["Location"]
        if loc.startswith("/"):
            loc = "http://%s%s" % (host, loc)
        loc += ("&" if "?" in loc else "?") + "digest=" + d["digest"]
        urllib.request.urlopen(urllib.request.Request(
            loc, method="PUT", data=blob(a.out, d["digest"]),
            headers={"Content-Type": "application/octet-stream"}), timeout=120)
    urllib.request.urlopen(urllib.request.Request(
        "%s/manifests/%s" % (base, tag), method="PUT", data=mbody,
        headers={"Content-Type": MT_MANIFEST}), timeout=30)
    print(man["digest"])


def cmd_archive(a):
    """An OCI archive naming the image (io.containerd.image.name), for ctr import."""
    man = dict(manifest_of(a.out))
    man["annotations"] = {"io.containerd.image.name": a.name,
                          "org.opencontainers.image.ref.name": a.name.rsplit(":", 1)[-1]}
    with tarfile.open(a.tar, "w", format=tarfile.GNU_FORMAT) as tf:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), EPOCH, 0o644
            tf.addfile(ti, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", jdump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [man]}))
        for n in sorted(os.listdir(os.path.join(a.out, "blobs", "sha256"))):
            add("blobs/sha256/" + n, blob(a.out, "sha256:" + n))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("operator")
    p.add_argument("binary")
    p.add_argument("out")
    p.add_argument("--version", default="0.0.0")
    p.set_defaults(fn=cmd_operator)
    p = sub.add_parser("files")
    p.add_argument("out")
    p.add_argument("--file", action="append", help="SRC:DST:MODE (octal)")
    p.add_argument("--deb-file", action="append", help="PACKAGE:PATH:DST, from the installed version's .deb")
    p.add_argument("--symlink", action="append", help="DST:TARGET")
    p.add_argument("--text", action="append", help="DST:TEXT")
    p.add_argument("--dir", action="append")
    p.add_argument("--entrypoint", help="JSON list")
    p.add_argument("--cmd", help="JSON list")
    p.add_argument("--user")
    p.set_defaults(fn=cmd_files)
    p = sub.add_parser("push")
    p.add_argument("out")
    p.add_argument("ref")
    p.set_defaults(fn=cmd_push)
    p = sub.add_parser("archive")
    p.add_argument("out")
    p.add_argument("name")
    p.add_argument("tar")
    p.set_defaults(fn=cmd_archive)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
