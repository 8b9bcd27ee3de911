#!/bin/bash
# build.sh: build the pinned test binaries (kube-apiserver, etcd, helm, Flux
# controllers, ...) from Go modules into a cache outside the repository.
#
#   bash test/cluster/build.sh [core|oracles|flux|flux-crds|flux-source|servers|oci|sops|all]     (default: core)
#
#   core     kube-apiserver, kube-controller-manager, kubectl and the node's
#            kube-scheduler, kubelet, kube-proxy (k8s.io/kubernetes through a
#            wrapper module with one replace per staging module), etcd and
#            etcdctl, CoreDNS (the cluster's DNS)
#   oracles  kustomize, helm (with version ldflags: assumes Kubernetes 1.$HELM_K8S_MINOR)
#   flux     source-controller, kustomize-controller, helm-controller (+ CRDs)
#   flux-crds  only the three controllers' CRDs, from their module zips (seconds)
#   flux-source  source-controller alone (test/e2e/bucket_oracle.sh's oracle)
#   servers  versitygw (S3, from its Go module) and Azurite (Azure Blob, from
#            npm, installed with npm ci-like pinning into its own directory);
#            part of core, since servers.sh starts them
#   oci      OCI tools: cosign (signs test artifacts), the flux CLI (flux push/pull
#            artifact), crane and oras (make bench-oci)
#
# Layout: ${CFLUX_TESTBIN:-$HOME/.cache/cflux/testbin}/<name>-<version>/<binary>;
# generated wrapper modules live in $CFLUX_TESTBIN/src/<name>-<version>/.
# Only missing binaries are built; each is linked to a temporary name and
# renamed into place, so an interrupted build never leaves a half binary.
# Versions: test/cluster/versions.sh.  Needs Go (GOTOOLCHAIN=local) and the
# Go module proxy; prints the time and peak RSS (/usr/bin/time -v) per binary.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"

TB=${CFLUX_TESTBIN:-$HOME/.cache/cflux/testbin}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$TB/src"
TB=$(cd "$TB" && pwd)

log() { printf 'build: %s\n' "$*" >&2; }
die() { printf 'build: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go not found on PATH"

# One build at a time per cache (two test runners starting together).  The
# lock is taken only before the first write, so a runner whose binaries are
# all there never waits behind another's build.
locked=0
take_lock() {
	[ "$locked" = 1 ] && return 0
	if command -v flock >/dev/null; then
		exec 9>"$TB/.build.lock"
		flock -w 3600 9 || die "could not lock $TB/.build.lock"
	fi
	locked=1
}

# The path of a module's go.mod in the module cache (downloads it).
modfile() { # module@version
	go mod download -json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("Error"): sys.exit("go mod download: " + d["Error"])
print(d["GoMod"])'
}

# The directory of a module's extracted source in the module cache.
moddir() { # module@version
	go mod download -json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("Error"): sys.exit("go mod download: " + d["Error"])
print(d["Dir"])'
}

# go / godebug lines of a go.mod, as go mod edit flags.
goflags_of() { # go.mod
	go mod edit -json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("Go"): print("-go=" + d["Go"])
for g in d.get("GoDebug") or d.get("Godebug") or []: print("-godebug=%s=%s" % (g["Key"], g["Value"]))'
}

# new_wrapper DIR MODNAME: a fresh, empty wrapper module in DIR.
new_wrapper() {
	take_lock
	rm -rf "$1"
	mkdir -p "$1"
	(cd "$1" && go mod init "$2" >/dev/null 2>&1)
}

# timed_build NAME OUT -- go build args...: build into OUT.tmp, rename to OUT,
# report time and peak RSS.
timed_build() {
	local name=$1 out=$2
	shift 3
	local tmp="$out.tmp.$$" tlog="$TB/src/$name.time" t0 t1 rss
	take_lock
	# Built by another runner while we waited for the lock.
	[ -x "$out" ] && { log "$name: built meanwhile"; return 0; }
	mkdir -p "$(dirname "$out")"
	rm -f "$tmp"
	t0=$(date +%s)
	if [ -x /usr/bin/time ]; then
		if ! /usr/bin/time -v -o "$tlog" go build -trimpath -o "$tmp" "$@"; then
			rm -f "$tmp"
			die "go build of $name failed"
		fi
		rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.2f GB", $2/1048576}' "$tlog")
	else
		go build -trimpath -o "$tmp" "$@" || { rm -f "$tmp"; die "go build of $name failed"; }
		rss="n/a (no /usr/bin/time)"
	fi
	t1=$(date +%s)
	mv -f "$tmp" "$out"
	log "built $name in $((t1 - t0)) s, peak RSS $rss -> $out"
	printf '%s\t%s s\t%s\n' "$name" "$((t1 - t0))" "$rss" >>"$TB/src/timings.tsv"
}

# ---------------------------------------------------------------- core
build_kubernetes() {
	local d="$TB/kubernetes-$K8S_VERSION" src="$TB/src/kubernetes-$K8S_VERSION"
	# kubelet adds two lines to the wrapper's go.sum: built in this step,
	# which owns the wrapper (GOFLAGS=-mod=mod).
	local bins="kube-apiserver kube-controller-manager kubectl kube-scheduler kube-proxy kubelet" b need=""
	for b in $bins; do [ -x "$d/$b" ] || need="$need $b"; done
	[ -n "$need" ] || { log "kubernetes $K8S_VERSION: up to date"; return 0; }

	if [ ! -f "$src/.ready" ]; then
		log "kubernetes $K8S_VERSION: generating wrapper module in $src"
		new_wrapper "$src" localtest/kubebins
		local gm v0 m
		gm=$(cd "$src" && modfile "k8s.io/kubernetes@$K8S_VERSION")
		v0="v0.${K8S_VERSION#v1.}"
		(
			cd "$src"
			# shellcheck disable=SC2046
			go mod edit $(goflags_of "$gm") -require="k8s.io/kubernetes@$K8S_VERSION"
			# One replace per staging module that k8s.io/kubernetes requires at v0.0.0.
			for m in $(go mod edit -json "$gm" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["Require"]:
    if r["Version"] == "v0.0.0": print(r["Path"])'); do
				go mod edit -replace="$m=$m@$v0"
			done
			n=$(go mod edit -json | python3 -c 'import json,sys;print(len(json.load(sys.stdin).get("Replace") or []))')
			[ "$n" -gt 0 ] || die "no staging modules found in $gm"
			log "kubernetes $K8S_VERSION: $n staging replaces at $v0"
		)
		touch "$src/.ready"
	fi
	local minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	local ld="-s -w"
	local p
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
		ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
	done
	for b in $need; do
		(cd "$src" && timed_build "$b-$K8S_VERSION" "$d/$b" -- -ldflags "$ld" "k8s.io/kubernetes/cmd/$b")
	done
}

build_etcd() {
	local d="$TB/etcd-$ETCD_VERSION" src="$TB/src/etcd-$ETCD_VERSION"
	if [ -x "$d/etcd" ] && [ -x "$d/etcdctl" ]; then
		log "etcd $ETCD_VERSION: up to date"
		return 0
	fi
	if [ ! -f "$src/.ready" ]; then
		log "etcd $ETCD_VERSION: generating wrapper module in $src"
		new_wrapper "$src" localtest/etcdbin
		local gm
		gm=$(cd "$src" && modfile "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
		(
			cd "$src"
			# shellcheck disable=SC2046
			go mod edit $(goflags_of "$gm") -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
				-require="go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION"
		)
		touch "$src/.ready"
	fi
	[ -x "$d/etcd" ] || (cd "$src" && timed_build "etcd-$ETCD_VERSION" "$d/etcd" -- go.etcd.io/etcd/server/v3)
	[ -x "$d/etcdctl" ] || (cd "$src" && timed_build "etcdctl-$ETCD_VERSION" "$d/etcdctl" -- go.etcd.io/etcd/etcdctl/v3)
}

# ---------------------------------------------------------------- oracles
# Modules without replace directives: a wrapper that only requires the tool's
# module has exactly the tool's build list.  The wrapper copies the go and
# godebug lines of the tool's go.mod.
simple_wrapper() { # name version module
	local src="$TB/src/$1-$2"
	if [ ! -f "$src/.ready" ]; then
		log "$1 $2: generating wrapper module in $src"
		new_wrapper "$src" "localtest/$1"
		local gm
		gm=$(cd "$src" && modfile "$3@$2")
		# shellcheck disable=SC2046
		(cd "$src" && go mod edit $(goflags_of "$gm") -require="$3@$2")
		touch "$src/.ready"
	fi
}

build_kustomize() {
	local d="$TB/kustomize-$KUSTOMIZE_VERSION" src="$TB/src/kustomize-$KUSTOMIZE_VERSION"
	[ -x "$d/kustomize" ] && { log "kustomize $KUSTOMIZE_VERSION: up to date"; return 0; }
	simple_wrapper kustomize "$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5
	# kustomize reads its version from build info, which names the wrapper as
	# the main module: set it explicitly.
	local ld="-s -w -X sigs.k8s.io/kustomize/api/provenance.version=kustomize/$KUSTOMIZE_VERSION"
	ld="$ld -X sigs.k8s.io/kustomize/api/provenance.buildDate=1970-01-01T00:00:00Z"
	(cd "$src" && timed_build "kustomize-$KUSTOMIZE_VERSION" "$d/kustomize" -- -ldflags "$ld" sigs.k8s.io/kustomize/kustomize/v5)
}

build_helm() {
	local d="$TB/helm-$HELM_VERSION" src="$TB/src/helm-$HELM_VERSION"
	[ -x "$d/helm" ] && { log "helm $HELM_VERSION: up to date"; return 0; }
	simple_wrapper helm "$HELM_VERSION" helm.sh/helm/v3
	local ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
	ld="$ld -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
	ld="$ld -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR"
	ld="$ld -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR"
	(cd "$src" && timed_build "helm-$HELM_VERSION" "$d/helm" -- -ldflags "$ld" helm.sh/helm/v3/cmd/helm)
}

# ---------------------------------------------------------------- flux
# A wrapper module for a tool whose module has `replace` lines (the Flux
# controllers, the flux CLI): it copies the non-local replaces (they differ
# between modules).
replace_wrapper() { # name version module
	local src="$TB/src/$1-$2"
	if [ ! -f "$src/.ready" ]; then
		log "$1 $2: generating wrapper module in $src"
		new_wrapper "$src" "localtest/$1"
		local gm
		gm=$(cd "$src" && modfile "$3@$2")
		(
			cd "$src"
			# shellcheck disable=SC2046
			go mod edit $(goflags_of "$gm") -require="$3@$2"
			go mod edit -json "$gm" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    if r["New"].get("Version"):
        old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
        print("-replace=%s=%s@%s" % (old, r["New"]["Path"], r["New"]["Version"]))' | xargs -r go mod edit
		)
		touch "$src/.ready"
	fi
}

# One wrapper per controller, copying the controller's non-local replaces
# (they differ between controllers).  CRDs are copied from the module zip.
build_flux_controller() { # name version
	local c=$1 v=$2
	local d="$TB/$c-$v" mod="github.com/fluxcd/$c"
	if [ -x "$d/$c" ] && [ -d "$d/crds" ]; then
		log "$c $v: up to date"
		return 0
	fi
	replace_wrapper "$c" "$v" "$mod"
	if [ ! -x "$d/$c" ]; then
		local ld="-s -w"
		(cd "$TB/src/$c-$v" && timed_build "$c-$v" "$d/$c" -- -ldflags "$ld" "$mod")
	fi
	flux_crds "$c" "$v"
}

# Only the CRDs (and samples) of a controller, from its module zip: no build.
flux_crds() { # name version
	local c=$1 v=$2
	local d="$TB/$c-$v" mod="github.com/fluxcd/$c"
	if [ ! -d "$d/crds" ]; then
		local md
		# No lock: the module cache locks itself and the rename is atomic.
		md=$(cd "${TMPDIR:-/tmp}" && moddir "$mod@$v")
		[ -d "$md/config/crd/bases" ] || die "$c $v: no config/crd/bases in $md"
		rm -rf "$d/crds.tmp.$$"
		mkdir -p "$d/crds.tmp.$$"
		cp "$md"/config/crd/bases/*.yaml "$d/crds.tmp.$$/"
		chmod -R u+w "$d/crds.tmp.$$"
		mkdir -p "$d"
		if mv -T "$d/crds.tmp.$$" "$d/crds" 2>/dev/null; then
			log "$c $v: CRDs -> $d/crds ($(ls "$d/crds" | wc -l) files)"
		else
			rm -rf "$d/crds.tmp.$$" # another runner was first
		fi
	fi
}

# ---------------------------------------------------------------- oci
# build_tool NAME VERSION MODULE PACKAGE [LDFLAGS]: one binary NAME.
build_tool() {
	local d="$TB/$1-$2" src="$TB/src/$1-$2"
	[ -x "$d/$1" ] && { log "$1 $2: up to date"; return 0; }
	replace_wrapper "$1" "$2" "$3"
	(cd "$src" && timed_build "$1-$2" "$d/$1" -- -ldflags "-s -w ${5:-}" "$4")
}

# The flux CLI embeds install manifests that its release process generates
# (cmd/flux/manifests/, not in the module zip): build from a copy of the
# module with a placeholder there.  Only `flux push/pull/list artifact(s)`
# are used; `flux install` from this binary would have nothing to install.
build_flux_cli() {
	local v=$FLUX_CLI_VERSION d="$TB/flux-$FLUX_CLI_VERSION" src="$TB/src/flux-$FLUX_CLI_VERSION"
	[ -x "$d/flux" ] && { log "flux $v: up to date"; return 0; }
	if [ ! -f "$src/.flux-ready" ]; then
		rm -f "$src/.ready"
		replace_wrapper flux "$v" github.com/fluxcd/flux2/v2
		local md
		md=$(cd "$src" && moddir "github.com/fluxcd/flux2/v2@$v")
		rm -rf "$src/flux2"
		cp -r "$md" "$src/flux2"
		chmod -R u+w "$src/flux2"
		mkdir -p "$src/flux2/cmd/flux/manifests"
		printf '# placeholder: the release manifests are not part of the module\n' \
			>"$src/flux2/cmd/flux/manifests/placeholder.yaml"
		(cd "$src" && go mod edit -replace="github.com/fluxcd/flux2/v2=./flux2")
		touch "$src/.flux-ready"
	fi
	(cd "$src" && timed_build "flux-$v" "$d/flux" -- -ldflags "-s -w -X main.VERSION=${v#v}" \
		github.com/fluxcd/flux2/v2/cmd/flux)
}

build_oci() {
	build_tool cosign "$COSIGN_VERSION" github.com/sigstore/cosign/v2 \
		github.com/sigstore/cosign/v2/cmd/cosign \
		"-X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION"
	build_flux_cli
	build_tool crane "$CRANE_VERSION" github.com/google/go-containerregistry \
		github.com/google/go-containerregistry/cmd/crane
	build_tool oras "$ORAS_VERSION" oras.land/oras oras.land/oras/cmd/oras
}

# SOPS with age (build.sh sops): the unit tests and sops.sh encrypt their
# fixtures with the real tools, so what we decrypt is what users commit.
build_sops() {
	build_tool sops "$SOPS_VERSION" github.com/getsops/sops/v3 github.com/getsops/sops/v3/cmd/sops
	build_tool age "$AGE_VERSION" filippo.io/age filippo.io/age/cmd/age
	build_tool age-keygen "$AGE_VERSION" filippo.io/age filippo.io/age/cmd/age-keygen
}


# CoreDNS: its main package is the module root; no replace directives.
build_coredns() {
	local d="$TB/coredns-$COREDNS_VERSION" src="$TB/src/coredns-$COREDNS_VERSION"
	[ -x "$d/coredns" ] && { log "coredns $COREDNS_VERSION: up to date"; return 0; }
	simple_wrapper coredns "$COREDNS_VERSION" github.com/coredns/coredns
	local ld="-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION"
	(cd "$src" && timed_build "coredns-$COREDNS_VERSION" "$d/coredns" -- -ldflags "$ld" github.com/coredns/coredns)
}

# ---------------------------------------------------------------- servers
build_versitygw() {
	local d="$TB/versitygw-$VERSITYGW_VERSION" src="$TB/src/versitygw-$VERSITYGW_VERSION"
	[ -x "$d/versitygw" ] && { log "versitygw $VERSITYGW_VERSION: up to date"; return 0; }
	simple_wrapper versitygw "$VERSITYGW_VERSION" github.com/versity/versitygw
	(cd "$src" && timed_build "versitygw-$VERSITYGW_VERSION" "$d/versitygw" -- -ldflags "-s -w" \
		github.com/versity/versitygw/cmd/versitygw)
}

# Azurite is a Node.js program: npm installs the pinned version (and what
# its own lock pins) into a temporary directory renamed into place.
build_azurite() {
	local d="$TB/azurite-$AZURITE_VERSION" tmp t0
	[ -x "$d/node_modules/.bin/azurite-blob" ] && { log "azurite $AZURITE_VERSION: up to date"; return 0; }
	command -v npm >/dev/null || die "npm not found (run tools/deps.sh)"
	tmp="$d.tmp.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	t0=$(date +%s)
	(cd "$tmp" && printf '{"name":"cflux-azurite","private":true}\n' >package.json &&
		npm install --no-audit --no-fund --loglevel=error --save-exact "azurite@$AZURITE_VERSION" >&2) ||
		{ rm -rf "$tmp"; die "npm install of azurite $AZURITE_VERSION failed"; }
	rm -rf "$d"
	mv "$tmp" "$d"
	log "installed azurite $AZURITE_VERSION in $(($(date +%s) - t0)) s -> $d"
	printf '%s\t%s s\t%s\n' "azurite-$AZURITE_VERSION" "$(($(date +%s) - t0))" "n/a (npm)" >>"$TB/src/timings.tsv"
}

build_servers() { build_versitygw; build_azurite; }

build_core() { build_etcd; build_kubernetes; build_coredns; build_servers; }
build_oracles() { build_kustomize; build_helm; }
build_flux() {
	build_flux_controller source-controller "$SOURCE_CONTROLLER_VERSION"
	build_flux_controller kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION"
	build_flux_controller helm-controller "$HELM_CONTROLLER_VERSION"
}

build_flux_crds() {
	flux_crds source-controller "$SOURCE_CONTROLLER_VERSION"
	flux_crds kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION"
	flux_crds helm-controller "$HELM_CONTROLLER_VERSION"
	flux_crds notification-controller "$NOTIFICATION_CONTROLLER_VERSION"
}

what=${1:-core}
start=$(date +%s)
case "$what" in
core) build_core ;;
oracles) build_oracles ;;
flux) build_flux ;;
flux-crds) build_flux_crds ;;
flux-notification) build_flux_controller notification-controller "$NOTIFICATION_CONTROLLER_VERSION" ;;
servers) build_servers ;;
oci) build_oci ;;
sops) build_sops ;;
flux-source) build_flux_controller source-controller "$SOURCE_CONTROLLER_VERSION" ;;
flux-helm)
	build_flux_controller source-controller "$SOURCE_CONTROLLER_VERSION"
	build_flux_controller helm-controller "$HELM_CONTROLLER_VERSION"
	;;
flux-kustomize)
	build_flux_controller source-controller "$SOURCE_CONTROLLER_VERSION"
	build_flux_controller kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION"
	;;
all) build_core; build_oracles; build_flux ;;
*) die "usage: build.sh [core|oracles|flux|flux-crds|flux-notification|flux-source|flux-helm|flux-kustomize|servers|oci|sops|all]" ;;
esac
log "$what done in $(($(date +%s) - start)) s (cache: $TB)"
