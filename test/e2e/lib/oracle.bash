# oracle.bash: the same objects under cflux-operator (namespace NS) and
# under Flux's own controllers (namespace NSF), compared; sourced by the
# oracle scenarios after operator.bash, with NSF set.
#
#   both                    apply the YAML on stdin to both namespaces,
#                           @NS@ standing for each
#   same WHAT CMD...        CMD run for each namespace (@NS@ in its words)
#                           prints the same text, namespaces written @NS@;
#                           on a difference, the diff as TAP diagnostics
#   release_record NS NAME VERSION
#                           the Helm release record, decoded, as sorted
#                           JSON: the times (the release's and its hooks'
#                           last runs) and the chart's files set aside

both() {
	local y
	y=$(cat)
	printf '%s\n' "$y" | sed "s/@NS@/$NS/g" | k apply -f - >/dev/null &&
		printf '%s\n' "$y" | sed "s/@NS@/$NSF/g" | k apply -f - >/dev/null
}
norm() { sed "s/$NSF/@NS@/g; s/$NS/@NS@/g"; }
same() {
	local what=$1
	shift
	"${@//@NS@/$NSF}" 2>&1 | norm >"$W/flux.out"
	"${@//@NS@/$NS}" 2>&1 | norm >"$W/cflux.out"
	if [ -s "$W/flux.out" ] && cmp -s "$W/flux.out" "$W/cflux.out"; then
		return 0
	fi
	echo "# $what differs (-flux +cflux):"
	diff "$W/flux.out" "$W/cflux.out" | head -40 | sed 's/^/# /'
	return 1
}
release_record() {
	k get secret -n "$1" "sh.helm.release.v1.$2.v$3" -o jsonpath='{.data.release}' |
		python3 -c '
import base64, gzip, json, sys
r = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(sys.stdin.read()))))
for k in ("first_deployed", "last_deployed", "deleted"):
    r["info"].pop(k, None)
r["chart"].pop("files", None)  # helm-controller and cflux both keep them; compared via templates
for h in r.get("hooks") or []:
    for k in ("started_at", "completed_at"):
        if (h.get("last_run") or {}).get(k):
            h["last_run"][k] = "<time>"
print(json.dumps(r, indent=1, sort_keys=True))'
}
