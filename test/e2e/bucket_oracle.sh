#!/bin/bash
# bucket_oracle.sh: the same Buckets under cflux and under Flux's own
# source-controller (v1.7.3, built from its Go module by
# test/cluster/build.sh flux-source, run out of cluster as
# test/bench/run.sh does), against the same versitygw and Azurite
# servers: the revisions must be equal (TAP).
#
# Cases: S3 with the root .sourceignore; S3 with prefix and spec.ignore;
# Azure Blob through a SAS (Flux 1.7 takes the account name from the
# endpoint's first DNS label for a Shared Key, which a loopback Azurite
# cannot give; a SAS needs no account name).  Flux 1.7's Azure listing
# ignores spec.prefix (fixed later upstream), so the Azure case has none.
set -u
NAME=bko
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"
OBJ="python3 $repo/test/cluster/objstore.py"
FNS=$NS-flux
FLUX_PID=

if [ ! -x "$SOURCE_CONTROLLER" ]; then
	bash "$repo/test/cluster/build.sh" flux-source >&2 ||
		{ echo "not ok 1 - source-controller $SOURCE_CONTROLLER_VERSION did not build"; exit 1; }
fi
oracle_cleanup() {
	[ -n "$FLUX_PID" ] && kill "$FLUX_PID" 2>/dev/null && wait "$FLUX_PID" 2>/dev/null
	k delete namespace "$FNS" --wait=false >/dev/null 2>&1
	for s in s3 az; do $OBJ $s rmbucket "$NS" >/dev/null 2>&1; done
	e2e_cleanup
}
trap oracle_cleanup EXIT

check "CRDs installed" crd_install source.toolkit.fluxcd.io_buckets.yaml
# source-controller watches every source kind: the CRDs we do not have too.
for f in "$SOURCE_CONTROLLER_CRDS"/*.yaml; do
	[ -f "$repo/crds/$(basename "$f")" ] || k apply --server-side -f "$f" >/dev/null
done
k create namespace "$NS" >/dev/null
k create namespace "$FNS" >/dev/null
check "operator started" start_operator

start_flux() {
	local port
	port=$(free_port)
	mkdir -p "$W/flux-data"
	KUBECONFIG=$SOURCE_CONTROLLER_KUBECONFIG RUNTIME_NAMESPACE=$FNS "$SOURCE_CONTROLLER" \
		--storage-path="$W/flux-data" --storage-addr="127.0.0.1:$port" \
		--storage-adv-addr="127.0.0.1:$port" --metrics-addr="127.0.0.1:$(free_port)" \
		--health-addr="127.0.0.1:$(free_port)" --enable-leader-election=false --events-addr= \
		--watch-all-namespaces=false >>"$W/source-controller.log" 2>&1 &
	FLUX_PID=$!
	poll 20 curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && kill -0 "$FLUX_PID"
}
check "Flux's source-controller $SOURCE_CONTROLLER_VERSION started" start_flux

# The objects: nested keys, a space and a plus in names, an ignored file.
for s in s3 az; do
	$OBJ $s mkbucket "$NS"
	printf 'a: 1\n' | $OBJ $s put "$NS" apps/a.yaml -
	printf 'b: 1\n' | $OBJ $s put "$NS" "apps/deep/b c+d.yaml" -
	printf 'x\n' | $OBJ $s put "$NS" apps/notes.txt -
	printf 'docs\n' | $OBJ $s put "$NS" README.md -
	printf '*.md\n' | $OBJ $s put "$NS" .sourceignore -
	printf 'o\n' | $OBJ $s put "$NS" other/o.yaml -
done
SAS=$($OBJ az sas "$NS" rl 2099-01-01T00:00:00Z)
for ns in "$NS" "$FNS"; do
	k create secret generic s3 -n "$ns" --from-literal=accesskey="$S3_ACCESS_KEY" \
		--from-literal=secretkey="$S3_SECRET_KEY" >/dev/null
	k create secret generic sas -n "$ns" --from-literal=sasKey="$SAS" >/dev/null
done

# both NAME SPEC-LINES...: the Bucket in cflux's namespace and in Flux's.
both() {
	local name=$1 ns l
	shift
	for ns in "$NS" "$FNS"; do
		{
			printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\n'
			printf 'metadata:\n  name: %s\n  namespace: %s\n' "$name" "$ns"
			printf 'spec:\n  interval: 10m\n  timeout: 60s\n  bucketName: %s\n' "$NS"
			for l in "$@"; do printf '  %s\n' "$l"; done
		} | k apply -f - >/dev/null
	done
}
s3spec=("provider: generic" "endpoint: $S3_ENDPOINT" "insecure: true" "secretRef: {name: s3}")
both s3 "${s3spec[@]}"
both s3-prefix "${s3spec[@]}" "prefix: apps/" "ignore: '*.txt'"
both az "provider: azure" "endpoint: $AZBLOB_URL" "secretRef: {name: sas}"

revof() { k get bucket -n "$1" "$2" -o jsonpath='{.status.artifact.revision}' 2>/dev/null; }
same() { # NAME
	local ours theirs
	ours=$(revof "$NS" "$1")
	theirs=$(revof "$FNS" "$1")
	echo "cflux: $ours"
	echo "flux:  $theirs"
	[ -n "$ours" ] && [ "$ours" = "$theirs" ]
}
for b in s3 s3-prefix az; do
	check "$b: cflux's revision is source-controller's" poll 60 same "$b"
done

# A change: both move, to the same revision again.
r0_s3=$(revof "$NS" s3)
r0_az=$(revof "$NS" az)
printf 'a: 2\n' | $OBJ s3 put "$NS" apps/a.yaml -
printf 'a: 2\n' | $OBJ az put "$NS" apps/a.yaml -
for b in s3 az; do
	k annotate bucket -n "$NS" "$b" --overwrite reconcile.fluxcd.io/requestedAt="$(date +%s%N)" >/dev/null
	k annotate bucket -n "$FNS" "$b" --overwrite reconcile.fluxcd.io/requestedAt="$(date +%s%N)" >/dev/null
done
moved() { # NAME OLD
	[ "$(revof "$NS" "$1")" != "$2" ] && [ "$(revof "$FNS" "$1")" != "$2" ] && same "$1"
}
check "after a change, the s3 revisions move together" poll 60 moved s3 "$r0_s3"
check "after a change, the az revisions move together" poll 60 moved az "$r0_az"
if [ "$FAILED" -gt 0 ] && [ -f "$W/source-controller.log" ]; then
	echo "# source-controller log (tail):"
	tail -n 20 "$W/source-controller.log" | sed 's/^/# /'
fi
tap_end
