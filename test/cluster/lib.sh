# lib.sh: helpers shared by up.sh, down.sh and servers.sh (bash; sourced).
#
# Processes are started detached (own session, stdin from /dev/null, output
# to a log) and recorded as "<pid> <binary>" in a pid file; they are stopped
# only through that pid file, after checking /proc/<pid>/exe still is that
# binary (never by name).

CLUSTER_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLUSTER_REPO=$(cd "$CLUSTER_SCRIPTS/../.." && pwd)
CLUSTER_DIR=${CFLUX_CLUSTER_DIR:-$CLUSTER_REPO/build/cluster}
# cluster_dir: create CLUSTER_DIR and print its absolute path.
cluster_dir() { mkdir -p "$CLUSTER_DIR" && cd "$CLUSTER_DIR" && pwd; }

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# free_ports N: print N distinct free TCP ports on 127.0.0.1 (all sockets are
# held open together so the ports differ).
free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# start_proc NAME PIDFILE LOGFILE BINARY ARGS...: start detached, write pidfile.
start_proc() {
	local name=$1 pidfile=$2 logfile=$3 bin=$4
	shift 4
	[ -x "$bin" ] || die "$name: $bin is missing (run: bash test/cluster/build.sh)"
	setsid "$bin" "$@" </dev/null >>"$logfile" 2>&1 &
	local pid=$!
	printf '%s %s\n' "$pid" "$bin" >"$pidfile"
	# The command line, NUL-separated, so restart.sh can start it again.
	printf '%s\0' "$bin" "$@" >"${pidfile%.pid}.cmd"
	log "started $name (pid $pid, log $logfile)"
}

# proc_alive PIDFILE: the recorded process is alive and still the recorded binary.
proc_alive() {
	[ -f "$1" ] || return 1
	local pid bin exe
	read -r pid bin <"$1" || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	case "$exe" in "$bin" | "$bin (deleted)") return 0 ;; esac
	# symlinked paths: compare resolved paths
	[ "$(readlink -f "$bin")" = "${exe% (deleted)}" ]
}

proc_pid() { local pid bin; read -r pid bin <"$1"; echo "$pid"; }

# stop_proc NAME PIDFILE [SECONDS]: TERM, wait up to SECONDS (15), then KILL;
# remove pidfile.
stop_proc() {
	local name=$1 pidfile=$2 secs=${3:-15} pid i
	[ -f "$pidfile" ] || return 0
	if proc_alive "$pidfile"; then
		pid=$(proc_pid "$pidfile")
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 $((secs * 10))); do
			kill -0 "$pid" 2>/dev/null || break
			# a zombie child of ours is gone for our purpose
			[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
			log "$name (pid $pid) ignored SIGTERM for $secs s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			for i in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
		fi
		log "stopped $name (pid $pid)"
	fi
	rm -f "$pidfile"
}

# wait_until SECONDS DESCRIPTION PIDFILE COMMAND...: poll every 0.2 s until
# COMMAND succeeds; fail early if the process of PIDFILE died (PIDFILE may be "").
wait_until() {
	local secs=$1 what=$2 pidfile=$3 i
	shift 3
	for i in $(seq 1 $((secs * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		if [ -n "$pidfile" ] && ! proc_alive "$pidfile"; then
			log "$what: the process exited"
			return 1
		fi
		sleep 0.2
	done
	log "$what: not ready after $secs s"
	return 1
}

# tail_log FILE: show the end of a log on stderr.
tail_log() {
	[ -f "$1" ] || return 0
	echo "---- last lines of $1 ----" >&2
	tail -n 25 "$1" >&2
	echo "----" >&2
}

# issue_cert DIR NAME SUBJECT EXT-LINE...: DIR/NAME.key and DIR/NAME.crt, an
# RSA key and a certificate with SUBJECT and the given x509v3 extension
# lines, signed by DIR/ca.crt and DIR/ca.key.
issue_cert() {
	local dir=$1 name=$2 subj=$3
	shift 3
	openssl genrsa -out "$dir/$name.key" 2048 2>/dev/null
	openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" 2>/dev/null
	printf '%s\n' "$@" >"$dir/$name.ext"
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
		-days 3650 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
	rm -f "$dir/$name.csr" "$dir/$name.ext" "$dir/ca.srl"
}
