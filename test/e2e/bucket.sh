#!/bin/bash
# bucket.sh: the Bucket reconciler against the real control plane and the
# real object stores of servers.sh — versitygw (S3, SigV4 checked) and
# Azurite (Azure Blob, Shared Key and SAS checked) — (TAP).
#
# On both stores: the first artifact (and a Kustomization applying it);
# an object added, changed and deleted, picked up at the next interval; an
# unchanged bucket costs no downloads (S3's access log); prefix and
# ignore; a wrong key, a missing bucket and (Azure) an expired SAS, each
# Ready=False naming the cause; 10 000 objects through paginated listings
# with the operator's peak RSS bounded; FluxConfigurations with sourceKind
# Bucket and AzureBlob reaching Compliant.  The revisions are checked
# against Flux's own source-controller in bucket_oracle.sh.
set -u
NAME=bkt
# shellcheck source=test/e2e/lib/operator.bash
. "$(dirname "$0")/lib/operator.bash"
OBJ="python3 $repo/test/cluster/objstore.py"

check "CRDs installed" crd_install source.toolkit.fluxcd.io_buckets.yaml \
	kustomize.toolkit.fluxcd.io_kustomizations.yaml clusterconfig.cflux.io_fluxconfigurations.yaml
k create namespace "$NS" >/dev/null
check "operator started" start_operator

# Bucket and container names: the namespace's, per store.
B=$NS
# Many objects per store for the pagination test below, written while the
# other tests run: 10 000 on S3.  Azurite's cost per blob grows with what it
# holds (25-100 ms a blob in the thousands: quadratic, about 40 minutes for
# 10 000 on a busy 2-core machine), so `make test` gives it 1 000 (its
# listing pages are covered by itest_bucket with a small page size) and
# `make test-bucket-large` (BUCKET_AZ_OBJECTS=10000) the full 10 000.
declare -A MANY=([s3]=10000 [az]=${BUCKET_AZ_OBJECTS:-1000})
for store in s3 az; do
	$OBJ $store mkbucket "many-$B"
	$OBJ $store fill "many-$B" objs/ "${MANY[$store]}" >"$W/fill-$store.log" 2>&1 &
	eval "FILL_$store=\$!"
done
k create secret generic s3-creds -n "$NS" --from-literal=accesskey="$S3_ACCESS_KEY" \
	--from-literal=secretkey="$S3_SECRET_KEY" >/dev/null
k create secret generic s3-wrong -n "$NS" --from-literal=accesskey="$S3_ACCESS_KEY" \
	--from-literal=secretkey=not-the-secret >/dev/null
k create secret generic az-key -n "$NS" --from-literal=accountKey="$AZBLOB_KEY" >/dev/null
k create secret generic az-wrong -n "$NS" \
	--from-literal=accountKey=d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk= >/dev/null
k create secret generic az-entra -n "$NS" --from-literal=tenantId=t --from-literal=clientId=c \
	--from-literal=clientSecret=s >/dev/null

# bucket NAME STORE BUCKETNAME SECRET [extra spec lines]
bucket() {
	local name=$1 store=$2 b=$3 secret=$4 l
	shift 4
	{
		printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\n'
		printf 'metadata:\n  name: %s\n  namespace: %s\n' "$name" "$NS"
		printf 'spec:\n  interval: %s\n  timeout: 120s\n  bucketName: %s\n' "${INTERVAL:-2s}" "$b"
		if [ "$store" = s3 ]; then
			printf '  provider: generic\n  endpoint: %s\n  insecure: true\n' "$S3_ENDPOINT"
		else
			printf '  provider: azure\n  endpoint: %s\n' "$AZBLOB_URL"
		fi
		[ -n "$secret" ] && printf '  secretRef:\n    name: %s\n' "$secret"
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | k apply -f - >/dev/null
}
rev() { jpk bucket "$1" '{.status.artifact.revision}'; }
# artifact_files NAME: the artifact's file list, sorted
artifact_files() {
	local url
	url=$(jpk bucket "$1" '{.status.artifact.url}')
	art_curl - "$url" | tar -tzf - | grep -v '/$' | sort
}
has_files() { # NAME FILE...: exactly these files
	local name=$1 want got
	shift
	want=$(printf '%s\n' "$@" | sort)
	got=$(artifact_files "$name")
	[ "$got" = "$want" ] || { echo "want: $want"; echo "got: $got"; return 1; }
}
rev_changed() { local r; r=$(rev "$1"); [ -n "$r" ] && [ "$r" != "$2" ]; }
msg_has() { # NAME TEXT REASON
	is_ready bucket "$1" False "$3" && cond bucket "$1" Ready message | grep -qF "$2"
}
cm() { # NAME VALUE [NAMESPACE]
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n' "$1"
	[ -n "${3:-}" ] && printf '  namespace: %s\n' "$3"
	printf 'data:\n  v: "%s"\n' "$2"
}

for store in s3 az; do
	$OBJ $store mkbucket "$B"
	cm "app-$store" 1 | $OBJ $store put "$B" apps/cm.yaml -
	printf 'docs\n' | $OBJ $store put "$B" README.md -
	printf '*.md\n' | $OBJ $store put "$B" .sourceignore -
	secret=s3-creds
	[ $store = az ] && secret=az-key

	# ---- the first artifact, and a Kustomization applying it
	bucket "$store" $store "$B" $secret
	check "$store: first artifact, Ready" poll 60 is_ready bucket $store True Succeeded
	check "$store: revision is Flux's sha256 index digest" bash -c \
		"[[ \$(KUBECONFIG=$KUBECONFIG $KUBECTL get bucket -n $NS $store -o jsonpath='{.status.artifact.revision}') =~ ^sha256:[0-9a-f]{64}\$ ]]"
	check "$store: artifact holds the objects and .sourceignore, not what it ignores" \
		has_files $store .sourceignore apps/cm.yaml
	check "$store: ArtifactInStorage and a NewArtifact event" bash -c \
		"[ \"\$(KUBECONFIG=$KUBECONFIG $KUBECTL get bucket -n $NS $store -o jsonpath='{.status.conditions[?(@.type==\"ArtifactInStorage\")].status}')\" = True ] &&
		 KUBECONFIG=$KUBECONFIG $KUBECTL get events -n $NS --field-selector involvedObject.name=$store,reason=NewArtifact -o name | grep -q ."
	{
		printf 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n'
		printf 'metadata:\n  name: ks-%s\n  namespace: %s\n' $store "$NS"
		printf 'spec:\n  interval: 10m\n  retryInterval: 2s\n  timeout: 30s\n  prune: true\n'
		printf '  targetNamespace: %s\n  path: ./apps\n' "$NS"
		printf '  sourceRef:\n    kind: Bucket\n    name: %s\n' $store
	} | k apply -f - >/dev/null
	check "$store: a Kustomization applies the Bucket's artifact" \
		poll 60 bash -c "KUBECONFIG=$KUBECONFIG $KUBECTL get configmap -n $NS app-$store -o jsonpath='{.data.v}' | grep -qx 1"

	# ---- unchanged: listings only
	if [ $store = s3 ]; then
		gets() { grep -c "s3_GetObject .* /$B/apps/cm.yaml " "$S3_ACCESS_LOG" || true; }
		lists() { grep -c "s3_ListObjectsV2 - /$B?encoding-type=url&list-type=2 " "$S3_ACCESS_LOG" || true; }
		g0=$(gets)
		l0=$(lists)
		sleep 7
		check "s3: an unchanged bucket is listed at each interval but nothing is downloaded" \
			bash -c "[ $(gets) -eq $g0 ] && [ $(lists) -gt $((l0 + 2)) ] || { echo 'gets $g0 -> $(gets), lists $l0 -> $(lists)'; exit 1; }"
	fi

	# ---- added, changed, deleted: the next interval
	r0=$(rev $store)
	cm "extra-$store" 1 | $OBJ $store put "$B" apps/extra.yaml -
	check "$store: an added object moves the revision" poll 30 rev_changed $store "$r0"
	check "$store: ... and is in the artifact" has_files $store .sourceignore apps/cm.yaml apps/extra.yaml
	r1=$(rev $store)
	cm "app-$store" 2 | $OBJ $store put "$B" apps/cm.yaml -
	check "$store: a changed object moves the revision" poll 30 rev_changed $store "$r1"
	check "$store: ... and the Kustomization applies the change" \
		poll 60 bash -c "KUBECONFIG=$KUBECONFIG $KUBECTL get configmap -n $NS app-$store -o jsonpath='{.data.v}' | grep -qx 2"
	r2=$(rev $store)
	$OBJ $store rm "$B" apps/extra.yaml
	check "$store: a deleted object moves the revision" poll 30 rev_changed $store "$r2"
	check "$store: ... and leaves the artifact" has_files $store .sourceignore apps/cm.yaml

	# ---- prefix and ignore
	printf 'x\n' | $OBJ $store put "$B" apps/notes.txt -
	printf 'y\n' | $OBJ $store put "$B" other/skip.yaml -
	bucket "$store-prefix" $store "$B" $secret "prefix: apps/" "ignore: |
    *.txt"
	check "$store: prefix and spec.ignore select the objects" \
		poll 60 bash -c "KUBECONFIG=$KUBECONFIG $KUBECTL get bucket -n $NS $store-prefix -o jsonpath='{.status.artifact.path}' | grep -q ."
	check "$store: ... exactly apps/ minus *.txt (plus the root .sourceignore)" \
		has_files "$store-prefix" .sourceignore apps/cm.yaml
	check "$store: ... and status.observedIgnore" bash -c \
		"KUBECONFIG=$KUBECONFIG $KUBECTL get bucket -n $NS $store-prefix -o jsonpath='{.status.observedIgnore}' | grep -qx '\*.txt'"

	# ---- failures, each naming its cause
	if [ $store = s3 ]; then
		bucket s3-wrongkey s3 "$B" s3-wrong
		check "s3: a wrong secret key: Ready=False, SignatureDoesNotMatch" \
			poll 30 msg_has s3-wrongkey "SignatureDoesNotMatch" BucketOperationFailed
	else
		bucket az-wrongkey az "$B" az-wrong
		check "az: a wrong account key: Ready=False, the server's refusal" \
			poll 30 msg_has az-wrongkey "AuthorizationFailure" BucketOperationFailed
		k create secret generic az-expired -n "$NS" \
			--from-literal=sasKey="$($OBJ az sas "$B" rl 2020-01-01T00:00:00Z)" >/dev/null
		bucket az-expired az "$B" az-expired
		check "az: an expired SAS: Ready=False, 'the SAS token expired'" \
			poll 30 msg_has az-expired "the SAS token expired at 2020-01-01T00:00:00Z" BucketOperationFailed
		check "az: ... and the token is nowhere in the status" bash -c \
			"! KUBECONFIG=$KUBECONFIG $KUBECTL get bucket -n $NS az-expired -o yaml | grep -q 'sig='"
		k create secret generic az-sas -n "$NS" \
			--from-literal=sasKey="$($OBJ az sas "$B" rl 2099-01-01T00:00:00Z)" >/dev/null
		bucket az-sas az "$B" az-sas
		check "az: a valid SAS gives the same revision as the account key" \
			poll 30 bash -c "[ \"\$(KUBECONFIG=$KUBECONFIG $KUBECTL get bucket -n $NS az-sas -o jsonpath='{.status.artifact.revision}')\" = \"\$(KUBECONFIG=$KUBECONFIG $KUBECTL get bucket -n $NS az -o jsonpath='{.status.artifact.revision}')\" ]"
		bucket az-entra az "$B" az-entra
		check "az: Entra ID credentials are refused with a message saying why" \
			poll 30 msg_has az-entra "need Azure's token service" AuthenticationFailed
	fi
	bucket "$store-missing" $store "no-such-$B" $secret
	check "$store: a missing bucket: Ready=False, 'bucket ... not found'" \
		poll 30 msg_has "$store-missing" "bucket 'no-such-$B' not found" BucketOperationFailed
done

bucket gcp s3 "$B" s3-creds "provider: gcp"
check "provider gcp is refused: Stalled, named" poll 30 bash -c \
	"[ \"\$(KUBECONFIG=$KUBECONFIG $KUBECTL get bucket -n $NS gcp -o jsonpath='{.status.conditions[?(@.type==\"Stalled\")].status}')\" = True ]"

# ---- many objects: paginated listings, bounded memory
for store in s3 az; do
	fill=FILL_$store
	n=${MANY[$store]}
	check "$store: $n objects written" wait "${!fill}"
	secret=s3-creds
	[ $store = az ] && secret=az-key
	INTERVAL=10m bucket "$store-many" $store "many-$B" $secret
	check "$store: $n objects in one artifact" poll 300 bash -c \
		"KUBECONFIG=$KUBECONFIG $KUBECTL get events -n $NS --field-selector involvedObject.name=$store-many,reason=NewArtifact -o jsonpath='{.items[*].message}' | grep -q 'stored artifact with $n fetched files'"
	limit=96
	case $BIN in *address*) limit=1024 ;; esac # ASan: quarantine and shadow memory
	check "$store: ... the operator's peak RSS stays under $limit MiB ($(op_hwm_kib) KiB)" \
		bash -c "[ $(op_hwm_kib) -lt $((limit * 1024)) ]"
done
check "s3: ... listed page by page (ListObjectsV2 continuation tokens)" bash -c \
	"[ \$(grep -c 's3_ListObjectsV2 - /many-$B?continuation-token=' '$S3_ACCESS_LOG') -ge 9 ]"

# ---- FluxConfigurations: sourceKind Bucket and AzureBlob
$OBJ s3 mkbucket "fc-$B"
cm fc-s3 1 "$NS" | $OBJ s3 put "fc-$B" apps/cm.yaml -
$OBJ az mkbucket "fc-$B"
cm fc-az 1 "$NS" | $OBJ az put "fc-$B" apps/cm.yaml -
k create secret generic fc-protected -n "$NS" --from-literal=bucketSecretKey="$S3_SECRET_KEY" \
	--from-literal=accountKey="$AZBLOB_KEY" >/dev/null
{
	printf 'apiVersion: clusterconfig.cflux.io/v1\nkind: FluxConfiguration\n'
	printf 'metadata:\n  name: fc-s3\n  namespace: %s\n' "$NS"
	printf 'spec:\n  namespace: %s\n  sourceKind: Bucket\n' "$NS"
	printf '  protectedSettingsSecretRef: {name: fc-protected}\n'
	printf '  bucket:\n    url: http://%s\n    bucketName: fc-%s\n    accessKey: %s\n' \
		"$S3_ENDPOINT" "$B" "$S3_ACCESS_KEY"
	printf '    syncIntervalInSeconds: 5\n'
	printf '  kustomizations:\n    apps: {path: ./apps, prune: true, syncIntervalInSeconds: 5}\n'
	printf -- '---\napiVersion: clusterconfig.cflux.io/v1\nkind: FluxConfiguration\n'
	printf 'metadata:\n  name: fc-az\n  namespace: %s\n' "$NS"
	printf 'spec:\n  namespace: %s\n  sourceKind: AzureBlob\n' "$NS"
	printf '  protectedSettingsSecretRef: {name: fc-protected}\n'
	printf '  azureBlob:\n    url: %s\n    containerName: fc-%s\n' "$AZBLOB_URL" "$B"
	printf '    syncIntervalInSeconds: 5\n'
	printf '  kustomizations:\n    apps: {path: ./apps, prune: true, syncIntervalInSeconds: 5}\n'
} | k apply -f - >/dev/null
compliant() { [ "$(jpk fluxconfiguration "$1" '{.status.complianceState}')" = Compliant ]; }
check "FluxConfiguration sourceKind Bucket reaches Compliant" poll 90 compliant fc-s3
check "... its Bucket is Azure's mapping (generic, endpoint host:port, insecure for http)" bash -c \
	"[ \"\$(KUBECONFIG=$KUBECONFIG $KUBECTL get bucket -n $NS fc-s3 -o jsonpath='{.spec.provider} {.spec.endpoint} {.spec.insecure} {.spec.secretRef.name}')\" = 'generic $S3_ENDPOINT true fc-s3-auth' ]"
check "... and the configuration's objects are applied" \
	bash -c "KUBECONFIG=$KUBECONFIG $KUBECTL get configmap -n $NS fc-s3 >/dev/null"
check "FluxConfiguration sourceKind AzureBlob reaches Compliant" poll 90 compliant fc-az
check "... its Bucket has provider azure and the container" bash -c \
	"[ \"\$(KUBECONFIG=$KUBECONFIG $KUBECTL get bucket -n $NS fc-az -o jsonpath='{.spec.provider} {.spec.bucketName}')\" = 'azure fc-$B' ]"
check "... sourceSyncedCommitId is the Bucket's revision" bash -c \
	"[ \"\$(KUBECONFIG=$KUBECONFIG $KUBECTL get fluxconfiguration -n $NS fc-az -o jsonpath='{.status.sourceSyncedCommitId}')\" = \"\$(KUBECONFIG=$KUBECONFIG $KUBECTL get bucket -n $NS fc-az -o jsonpath='{.status.artifact.revision}')\" ]"

for store in s3 az; do
	for b in "$B" "many-$B" "fc-$B"; do $OBJ $store rmbucket "$b" >/dev/null 2>&1; done
done
tap_end
