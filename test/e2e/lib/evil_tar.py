#!/usr/bin/python3
# evil_tar.py KIND OUT.tgz: hostile layers for the OCIRepository tests.
#   dotdot     an entry "../../escaped.yaml"
#   absolute   an entry "/tmp/cflux-absolute.yaml"
#   symlink    a symlink "evil" -> "/etc" and a file "evil/passwd" behind it
#   bomb       one 300 MiB file of zeros (the gzip is ~300 KiB)
#   entries    100 001 empty files (a few MiB of gzip)
import gzip, io, sys, tarfile

kind, out = sys.argv[1], sys.argv[2]


class Zeros(io.RawIOBase):
    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k


with gzip.open(out, "wb", compresslevel=6) as gz, tarfile.open(fileobj=gz, mode="w|") as t:
    def add(name, data=b"x: 1\n"):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))

    add("ok.yaml")
    if kind == "dotdot":
        add("../../escaped.yaml")
    elif kind == "absolute":
        add("/tmp/cflux-absolute.yaml")
    elif kind == "symlink":
        ti = tarfile.TarInfo("evil")
        ti.type = tarfile.SYMTYPE
        ti.linkname = "/etc"
        t.addfile(ti)
        add("evil/passwd", b"owned\n")
    elif kind == "bomb":
        ti = tarfile.TarInfo("zeros.yaml")
        ti.size = 300 << 20
        t.addfile(ti, io.BufferedReader(Zeros(ti.size), 1 << 20))
    elif kind == "entries":
        for i in range(100001):
            add("d%d/f%d" % (i // 1000, i), b"")
    else:
        sys.exit("unknown kind " + kind)
