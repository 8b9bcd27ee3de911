#!/usr/bin/env bash
# git.sh: `make bench-git` — lib/source/git.c (build/test/gitbench: one
# src_git_fetch() as the GitRepository reconciler makes it) next to git
# itself on a large repository served by the test servers on loopback:
# smart HTTP (git http-backend behind lighttpd) and SSH (sshd + the
# OpenSSH client).  Not a test: it measures and prints, but it insists
# both sides end at the same commit with the same files (and that the
# artifact holds them), so a fast wrong answer cannot pass for a result.
#
#   BENCH_GIT_FILES=10000   files in the repository
#   BENCH_GIT_MB=100        their total size in MiB
#   BENCH_GIT_RUNS=3        runs per figure: the best time, the largest peak RSS
#   BENCH_GIT_SSH=1         also over SSH (0: smart HTTP only)
#   BENCH_GIT_DIR=DIR       scratch directory (default /dev/shm if it has
#                           3 GB free, else $TMPDIR or /tmp: see below)
#   BENCH_GIT_KEEP=1        keep the scratch directory (path printed)
#
# The repository (deterministic, python3's PRNG seeded): 98% of the files
# are small manifests (YAML with random hex ids and values, 20 to a
# clusters/<env>/<team>/<app>/ directory) holding 30% of the bytes; 1%
# are base64 text of random bytes (certificates, bundles: compressible to
# 3/4) holding 20%; 1% are raw random binaries (images, archives:
# incompressible) holding 50%, 0.1-1.9x the mean size.  The server's
# repository is repacked (git repack -a -d) after each push, as a hosting
# server keeps it.
#
# Figures, each timed from outside by /usr/bin/time (elapsed, and %M: the
# peak RSS of the largest single process — git's clone runs
# git-remote-http, fetch-pack and index-pack as separate processes, and
# %M is the largest of them, not their sum; cflux is one process, plus
# ssh over SSH), and
# the peak anonymous memory of the whole process tree, sampled from /proc
# (RSS counts the pages of the pack both map from the page cache):
#   cold          gitbench, empty cache and checkout dir   | git clone --depth 1 --branch main
#   cold+archive  the same plus artifact_archive (tar.gz)  | -
#   incremental   after a push changing 10 files (~1 MB):  | git fetch --depth 1 + checkout in
#                 gitbench with the cache of the cold run,  |   the cold clone
#                 LAST_COMMIT = the old head, empty checkout dir
#   no-op         gitbench, LAST_COMMIT = the head          | git ls-remote
# Over SSH libgit2 1.8 cannot fetch shallowly (git.h), so cflux fetches
# whole there; the repository has one commit when cloned, so both sides
# download the same.  The table goes to stdout and build/bench/git.md.
set -eu
cd "$(dirname "$0")/../.."
FILES=${BENCH_GIT_FILES:-10000}
MB=${BENCH_GIT_MB:-100}
RUNS=${BENCH_GIT_RUNS:-3}
SSH=${BENCH_GIT_SSH:-1}
BUILD=${BUILD:-build/default}
GB=$PWD/$BUILD/test/gitbench
ROOT=$PWD
[ -x "$GB" ] || { echo "git.sh: $GB missing (make $BUILD/test/gitbench)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "git.sh: /usr/bin/time (GNU time) is needed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "git.sh: python3 is needed" >&2; exit 1; }
. test/cluster/lib.sh
ENVF=$CLUSTER_DIR/servers.env

# ---- servers: use the running ones, or start them and stop them after
started=
if [ ! -f "$ENVF" ] || ! bash test/cluster/servers.sh status >/dev/null 2>&1; then
	bash test/cluster/servers.sh up >&2
	started=1
fi
set -a
. "$ENVF"
set +a
# Scratch (the source tree, caches, checkouts, clones: about 1 GB) on
# tmpfs by default: on ext4, creating 10 000 files soon after as many were
# deleted (the previous run's checkout) spends seconds of system time in
# the inode allocator (recently_deleted(), for both git and cflux), which
# would be measured instead of the fetch.
if [ -z "${BENCH_GIT_DIR:-}" ]; then
	BENCH_GIT_DIR=${TMPDIR:-/tmp}
	[ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt $((3 << 20)) ] &&
		BENCH_GIT_DIR=/dev/shm
fi
W=$(mktemp -d "$BENCH_GIT_DIR/bench-git.XXXXXX")
NAME=bench-git-$$
BARE=$GIT_ROOT/$NAME.git
cleanup() {
	rm -rf "$BARE"
	rm -f "$GIT_ROOT/$NAME-noop.git"
	if [ -n "${BENCH_GIT_KEEP:-}" ]; then echo "git.sh: kept $W" >&2; else rm -rf "$W"; fi
	[ -z "$started" ] || bash test/cluster/servers.sh down >&2
}
trap cleanup EXIT
die() { echo "git.sh: $*" >&2; exit 1; }

# ---- the repository
echo "git.sh: generating $FILES files, $MB MiB (scratch $W)" >&2
python3 - "$W/src" "$FILES" "$MB" <<'EOF'
import os, random, sys, base64
root, files, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(7)
total = mb << 20
n_bin = max(1, files // 100)                 # 1%: raw random, 50% of the bytes
n_b64 = max(1, files // 100)                 # 1%: base64 of random, 20%
n_txt = max(1, files - n_bin - n_b64)        # the rest: manifests, 30%
def sizes(n, share):
    # 0.1x to 1.9x the mean, summing to about share * total
    mean = share * total / n
    return [int(mean * (0.1 + 1.8 * rnd.random())) for _ in range(n)]
envs = ["prod", "staging", "dev", "qa"]
def manifest(i, size):
    out = ["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-%05d\n"
           "  labels: {team: t%02d}\ndata:\n" % (i, i % 40)]
    n = len(out[0])
    while n < size:
        line = "  key-%s: \"%s %d\"\n" % (rnd.getrandbits(32).to_bytes(4, "big").hex(),
                                          rnd.getrandbits(96).to_bytes(12, "big").hex(),
                                          rnd.randrange(10**6))
        out.append(line)
        n += len(line)
    return "".join(out)
for i, size in enumerate(sizes(n_txt, 0.30)):
    leaf = i // 20                           # 20 manifests per application
    d = os.path.join(root, "clusters", envs[leaf % 4], "team-%02d" % (leaf // 4 % 25),
                     "app-%03d" % (leaf // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "cm-%05d.yaml" % i), "w") as f:
        f.write(manifest(i, size))
for i, size in enumerate(sizes(n_b64, 0.20)):
    d = os.path.join(root, "certs", "bundle-%02d" % (i % 10))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "ca-%03d.pem" % i), "wb") as f:
        f.write(base64.encodebytes(rnd.randbytes(size * 3 // 4)))
for i, size in enumerate(sizes(n_bin, 0.50)):
    d = os.path.join(root, "assets", "set-%02d" % (i % 10))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "blob-%03d.bin" % i), "wb") as f:
        f.write(rnd.randbytes(size))
EOF
push() { # commit $W/src, repack the server's copy; prints the sha
	local sha
	sha=$(bash test/cluster/mkrepo.sh "$NAME" "$W/src")
	git --git-dir="$BARE" repack -a -d -q
	echo "$sha"
}
SHA1=$(push)
URL=$GIT_HTTP_URL/$NAME.git
files=$(find "$W/src" -type f | wc -l)
tree_mb=$(find "$W/src" -type f -printf "%s\n" | awk "{ s += \$1 } END { printf \"%.0f\", s / 1048576 }")
pack_mb=$(du -cm "$BARE"/objects/pack/*.pack | tail -1 | cut -f1)
big_kb=$(find "$W/src" -type f -printf '%s\n' | sort -n | tail -1)
big_kb=$((big_kb / 1024))

# The anonymous memory of a process tree: sampled every 20 ms from
# /proc (RssAnon summed over the processes below PID; file-backed pages,
# such as an mmap'd pack, left out); writes the peak in KiB to FILE when
# PID is gone.
cat >"$W/anon.py" <<'EOF'
import os, sys, time
root, out, peak = int(sys.argv[1]), sys.argv[2], 0
def kids(pid):
    r = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                r += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return r
def anon(pid):
    try:
        with open("/proc/%d/status" % pid) as s:
            for line in s:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
while os.path.exists("/proc/%d" % root):
    todo, seen, total = kids(root), set(), 0
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo += kids(p)
            total += anon(p)
    peak = max(peak, total)
    time.sleep(0.02)
with open(out, "w") as o:
    o.write("%d\n" % peak)
EOF

# measure NAME SETUP CMD...: run SETUP (a shell string) then CMD, RUNS
# times; prints "best_seconds peak_rss_mib peak_anon_mib"; CMD's output
# in $W/NAME.out.
measure() {
	local name=$1 setup=$2 best="" rss=0 anon=0 i t m a p rc
	shift 2
	for i in $(seq 1 "$RUNS"); do
		bash -c "$setup" || die "$name: setup failed"
		/usr/bin/time -f '%e %M' -o "$W/time" "$@" >"$W/$name.out" 2>"$W/$name.err" &
		p=$!
		python3 "$W/anon.py" "$p" "$W/anon" &
		rc=0
		wait "$p" || rc=$?
		wait $!
		[ "$rc" = 0 ] || { cat "$W/$name.err" >&2; die "$name failed"; }
		read -r t m <"$W/time"
		read -r a <"$W/anon"
		best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
		[ "$m" -gt "$rss" ] && rss=$m
		[ "$a" -gt "$anon" ] && anon=$a
		echo "git.sh: $name run $i: ${t}s, RSS $((m / 1024)) MiB, anon $(((a + 1023) / 1024)) MiB" >&2
	done
	# A process shorter than the sampler's start-up is never seen: n/a.
	[ "$anon" -gt 0 ] && anon=$(((anon + 1023) / 1024)) || anon=n/a
	echo "$best $((rss / 1024)) $anon"
}
mem() { [ "$2" = n/a ] && echo "$1 MiB / n/a" || echo "$1 / $2 MiB"; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p; s/^$2=\([^ ]*\).*/\1/p" "$W/$1.out" | head -1; }
same_tree() { # DIR_A DIR_B WHAT
	diff -r -q -x .git "$1" "$2" >&2 || die "$3: the checkouts differ"
}

# One transport: URL, a tag for the rows, gitbench's extra options.
declare -a ROWS
bench_transport() {
	local url=$1 tr=$2
	shift 2
	local gbo=("$@") c cm ca a am aa g gm ga i im ia gi gim gia n nm na l lm la pk
	local fresh="rm -rf $W/cache $W/out && mkdir $W/out"

	read -r c cm ca < <(measure "$tr-cold" "$fresh" "$GB" fetch "${gbo[@]}" "$url" main "$W/cache" "$W/out")
	[ "$(field "$tr-cold" commit)" = "$SHA1" ] || die "$tr: cflux fetched $(cat "$W/$tr-cold.out")"
	read -r a am aa < <(measure "$tr-archive" "$fresh" "$GB" fetch --archive "$W/a.tar.gz" "${gbo[@]}" \
		"$url" main "$W/cache" "$W/out")
	read -r g gm ga < <(measure "$tr-clone" "rm -rf $W/clone" \
		git clone -q --depth 1 --branch main --no-tags "$url" "$W/clone")
	[ "$(git -C "$W/clone" rev-parse HEAD)" = "$SHA1" ] || die "$tr: git cloned another commit"
	same_tree "$W/out" "$W/clone" "$tr cold"
	if [ "$tr" = http ]; then
		rm -rf "$W/x" && mkdir "$W/x" && tar -xzf "$W/a.tar.gz" -C "$W/x"
		same_tree "$W/x" "$W/clone" "the artifact"
		art_mb=$(du -m "$W/a.tar.gz" | cut -f1)
		art_files=$(field http-archive archive_files)
	fi
	ROWS+=("| $tr | cold: fetch + checkout | ${c} s | $(mem "$cm" "$ca") | clone --depth 1 | ${g} s | $(mem "$gm" "$ga") |")
	pk=$(field "$tr-archive" archive_s)
	ROWS+=("| $tr | cold + pack the artifact (packing: ${pk} s) | ${a} s | $(mem "$am" "$aa") | | | |")

	# Incremental: each run starts from the cold run's cache and clone.
	rm -rf "$W/cache1" "$W/clone1" "$W/out" && mkdir "$W/out"
	"$GB" fetch "${gbo[@]}" "$url" main "$W/cache1" "$W/out" >/dev/null
	cp -a "$W/clone" "$W/clone1"
	SHA2=$(cd "$ROOT" && push2)
	read -r i im ia < <(measure "$tr-incr" "rm -rf $W/cache $W/out && cp -a $W/cache1 $W/cache && mkdir $W/out" \
		"$GB" fetch "${gbo[@]}" "$url" main "$W/cache" "$W/out" "$SHA1")
	[ "$(field "$tr-incr" commit)" = "$SHA2" ] || die "$tr: cflux fetched $(cat "$W/$tr-incr.out")"
	read -r gi gim gia < <(measure "$tr-gincr" "rm -rf $W/clone && cp -a $W/clone1 $W/clone" \
		bash -c "git -C '$W/clone' fetch -q --depth 1 --no-tags origin main && git -C '$W/clone' checkout -q FETCH_HEAD")
	[ "$(git -C "$W/clone" rev-parse HEAD)" = "$SHA2" ] || die "$tr: git fetched another commit"
	same_tree "$W/out" "$W/clone" "$tr incremental"
	ROWS+=("| $tr | incremental: 10 files (~1 MB) changed | ${i} s | $(mem "$im" "$ia") | fetch --depth 1 + checkout | ${gi} s | $(mem "$gim" "$gia") |")

	# No-op: the branch has not moved.  Over HTTP it is fetched through a
	# second name of the repository (a symlink) so that the server's log
	# shows what it asked for: one ref advertisement per run, nothing else.
	local nurl=$url
	if [ "$tr" = http ]; then
		ln -sfn "$BARE" "$GIT_ROOT/$NAME-noop.git"
		nurl=$GIT_HTTP_URL/$NAME-noop.git
	fi
	read -r n nm na < <(measure "$tr-noop" "rm -rf $W/out && mkdir $W/out" \
		"$GB" fetch "${gbo[@]}" "$nurl" main "$W/cache" "$W/out" "$SHA2")
	[ "$(field "$tr-noop" unchanged)" = 1 ] || die "$tr: the no-op fetched"
	[ -z "$(ls -A "$W/out")" ] || die "$tr: the no-op wrote a checkout"
	if [ "$tr" = http ]; then
		# lighttpd writes its access log every few seconds.
		for _ in $(seq 1 40); do
			[ "$(grep -c "/$NAME-noop.git/" "$GIT_HTTP_ACCESS_LOG")" -ge "$RUNS" ] && break
			sleep 0.25
		done
		grep "/$NAME-noop.git/" "$GIT_HTTP_ACCESS_LOG" >"$W/noop.log" || true
		[ "$(grep -c "\"GET /git/$NAME-noop.git/info/refs?service=git-upload-pack " "$W/noop.log")" = "$RUNS" ] &&
			[ "$(wc -l <"$W/noop.log")" = "$RUNS" ] ||
			{ cat "$W/noop.log" >&2; die "http: the no-op made other requests than $RUNS ref advertisements"; }
		noop_log="$RUNS requests, each \`GET info/refs?service=git-upload-pack\`"
	fi
	read -r l lm la < <(measure "$tr-lsremote" true git ls-remote "$url" refs/heads/main)
	[ "$(cut -f1 "$W/$tr-lsremote.out")" = "$SHA2" ] || die "$tr: ls-remote says $(cat "$W/$tr-lsremote.out")"
	ROWS+=("| $tr | no change: ref check only | ${n} s | $(mem "$nm" "$na") | ls-remote | ${l} s | $(mem "$lm" "$la") |")

	# Back to the first commit for the next transport.
	git --git-dir="$BARE" update-ref refs/heads/main "$SHA1"
	rm -rf "$W/clone" "$W/clone1" "$W/cache" "$W/cache1"
}

# The incremental push: 10 files, ~1 MB: 5 manifests edited, 5 binaries
# rewritten (~190 KiB of new random bytes each).  Applied once; later
# calls (the next transport) push the same tree again, so the same
# commit on top of SHA1 (mkrepo.sh's dates depend only on the count).
push2() {
	if [ ! -f "$W/pushed2" ]; then
		python3 - "$W/src" <<'EOF'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(8)
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
yaml = [p for p in paths if p.endswith(".yaml")][:5]
bins = [p for p in paths if p.endswith(".bin")][:5]
for p in yaml:
    with open(p, "a") as f:
        f.write("  changed: \"%s\"\n" % rnd.getrandbits(64))
for p in bins:
    with open(p, "wb") as f:
        f.write(rnd.randbytes(190 << 10))
EOF
		: >"$W/pushed2"
	fi
	bash test/cluster/mkrepo.sh "$NAME" "$W/src" | tail -1
	git --git-dir="$BARE" repack -a -d -q
}

bench_transport "$URL" http
if [ "$SSH" = 1 ]; then
	# gitbench takes the key and known_hosts as files; git uses
	# GIT_SSH_COMMAND from servers.env (the same key and known_hosts).
	bench_transport "$GIT_SSH_URL/$NAME.git" ssh --ssh-key "$SSH_KEY_ED25519" --known-hosts "$SSH_KNOWN_HOSTS"
fi

mkdir -p build/bench
{
	echo "# git fetch: $files files, $tree_mb MiB in the tree (largest file ${big_kb} KiB), $pack_mb MiB pack on the server"
	echo
	echo "$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), servers on loopback;"
	echo "cflux: lib/source/git.c on libgit2 $(pkg-config --modversion libgit2) (build/test/gitbench); git $(git --version | cut -d' ' -f3)."
	echo "Scratch (caches, checkouts, clones) on $(df -PT "$W" | awk 'NR == 2 { print $2 }') ($BENCH_GIT_DIR). Best time of $RUNS runs."
	echo "Memory: \"RSS / anon\": the largest peak RSS seen (/usr/bin/time %M; for git the largest single"
	echo "process of the several it runs, not their sum) / the largest peak of anonymous memory (RssAnon"
	echo "summed over the process tree, sampled every 20 ms; RSS also counts the mmap'd pack's page-cache"
	echo "pages). Both sides end at the same commit with the same files (diff -r); the artifact"
	echo "($art_mb MiB tar.gz, $art_files files) unpacks to the same files.${noop_log:+ The no-op over HTTP, in the access log of the server: $noop_log.}"
	echo
	echo "| transport | operation | cflux time | cflux RSS / anon | git | git time | git RSS / anon |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
} | tee build/bench/git.md
