#!/bin/bash
# servers.sh: real source servers on 127.0.0.1, or the node's HOST_ADDR (free ports) for tests.
#
#   bash test/cluster/servers.sh up|down|status
#   bash test/cluster/servers.sh bounce NAME SECONDS   (one server down, then up)
#
# State: $CFLUX_CLUSTER_DIR/servers (default <repo>/build/cluster/servers);
# writes $CFLUX_CLUSTER_DIR/servers.env (shell-sourceable: URLs, ports,
# credentials, CA, SSH keys, known_hosts, pids).  Started:
#   lighttpd   git smart HTTP (git http-backend via mod_cgi) on an HTTP and an
#              HTTPS port (cert from a test CA, separate from the cluster's),
#              and an HTTPS port that requires a client certificate:
#              /git/NAME.git (no auth), /auth-git/NAME.git (basic auth);
#              access log: $GIT_HTTP_ACCESS_LOG.  Push allowed on both.
#   git daemon git://127.0.0.1:PORT/NAME.git (--export-all, receive-pack on)
#   sshd       ssh://root@127.0.0.1:PORT/NAME.git, key auth only, forced
#              command (git-ssh-shell.sh: git-upload-pack/receive-pack/
#              upload-archive on repositories under the git root only)
#   registry   docker-registry (distribution v2), one open, one with htpasswd
#              (bcrypt) basic auth, one with token auth (its token server is
#              registry-token.py: credentials get every action, anonymous only
#              pull on public/*), one over HTTPS (TEST_CA) with basic auth,
#              and one over HTTPS that also requires a client certificate
#              signed by TEST_CA (http.tls.clientcas), with basic auth
#   lighttpd   static files for Helm repositories from servers/helm/, over
#              HTTP and HTTPS (TEST_CA; $HELM_HTTPS_URL) (/private/ needs
#              basic auth); access log: $HELM_ACCESS_LOG
#   tinyproxy  an HTTP proxy (plain requests and CONNECT) with basic auth;
#              every request is logged in $PROXY_LOG
#   versitygw  S3 (posix backend), SigV4 checked on every request; over HTTP
#              and, on a second port, HTTPS with the test CA's certificate
#   azurite    Azure Blob (path-style, account devstoreaccount1), Shared Key
#              and SAS checked
# Objects: test/cluster/objstore.py (make buckets, put, remove, SAS tokens).
# Repositories: test/cluster/mkrepo.sh NAME DIR [BRANCH].
# Everything is stopped by pid with `servers.sh down`, which also removes
# the state (repositories, registry data, keys, CA; logs are kept); up is a
# no-op when all servers are already running.
set -eu
. "$(dirname "$0")/lib.sh"

D=$(cluster_dir)
S=$D/servers
# With a node (up.sh, node.sh) the servers listen on the host end of its
# veth pair, which the host and the pods both reach; else on loopback.
H=127.0.0.1
if [ -f "$D/node/node.env" ]; then
	# shellcheck disable=SC1091
	. "$D/node/node.env"
	H=$HOST_ADDR
fi
ENVF=$D/servers.env
NAMES="lighttpd-git git-daemon sshd registry registry-auth registry-token registry-tls registry-mtls token-server lighttpd-helm proxy s3 s3-tls azurite"

HTTP_USER=cflux
HTTP_PASSWORD=cflux-http-secret
REGISTRY_USER=cflux
REGISTRY_PASSWORD=cflux-registry-secret
SSH_PASSPHRASE=cflux-ssh-passphrase
PROXY_USER=cflux
PROXY_PASSWORD=cflux-proxy-secret
S3_ACCESS_KEY=cfluxaccess
S3_SECRET_KEY=cflux-s3-secret/key+1
S3_REGION=us-east-1
# Azurite's well-known development account (its documentation's).
AZBLOB_ACCOUNT=devstoreaccount1
AZBLOB_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

all_alive() {
	local n
	for n in $NAMES; do proc_alive "$S/$n.pid" || return 1; done
}

servers_down() {
	local n
	for n in $NAMES; do stop_proc "$n" "$S/$n.pid"; done
	rm -f "$ENVF"
	# Fresh state next time (repositories, registry data, keys, CA); keep logs.
	[ -d "$S" ] && find "$S" -mindepth 1 -maxdepth 1 ! -name '*.log' -exec rm -rf {} +
	return 0
}

# ------------------------------------------------------------------ files
gen_pki() {
	local p=$S/pki
	mkdir -p "$p"
	[ -f "$p/server.leaf.crt" ] && [ -f "$p/client.crt" ] && [ "$(cat "$p/host" 2>/dev/null)" = "$H" ] && return 0
	echo "$H" >"$p/host"
	openssl genrsa -out "$p/ca.key" 2048 2>/dev/null
	openssl req -x509 -new -key "$p/ca.key" -sha256 -days 3650 -subj "/CN=cflux-test-servers-ca" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$p/ca.crt" 2>/dev/null
	# The server's certificate is signed by an intermediate CA, and the
	# server sends both: clients must verify a chain, not just a leaf.
	openssl genrsa -out "$p/intermediate.key" 2048 2>/dev/null
	openssl req -new -key "$p/intermediate.key" -subj "/CN=cflux-test-servers-intermediate" \
		-out "$p/intermediate.csr" 2>/dev/null
	printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" \
		"keyUsage=critical,keyCertSign,cRLSign" >"$p/intermediate.ext"
	openssl x509 -req -in "$p/intermediate.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
		-days 3650 -sha256 -extfile "$p/intermediate.ext" -out "$p/intermediate.crt" 2>/dev/null
	openssl genrsa -out "$p/server.key" 2048 2>/dev/null
	openssl req -new -key "$p/server.key" -subj "/CN=localhost" -out "$p/server.csr" 2>/dev/null
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,IP:$H,DNS:localhost" >"$p/server.ext"
	openssl x509 -req -in "$p/server.csr" -CA "$p/intermediate.crt" -CAkey "$p/intermediate.key" \
		-CAcreateserial -days 3650 -sha256 -extfile "$p/server.ext" -out "$p/server.leaf.crt" 2>/dev/null
	cat "$p/server.leaf.crt" "$p/intermediate.crt" >"$p/server.crt"
	cat "$p/server.crt" "$p/server.key" >"$p/server.pem"
	# A client certificate for the mutual-TLS port.
	openssl genrsa -out "$p/client.key" 2048 2>/dev/null
	openssl req -new -key "$p/client.key" -subj "/CN=cflux-test-client" -out "$p/client.csr" 2>/dev/null
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=clientAuth" >"$p/client.ext"
	openssl x509 -req -in "$p/client.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
		-days 3650 -sha256 -extfile "$p/client.ext" -out "$p/client.crt" 2>/dev/null
	chmod 600 "$p/client.key"
	rm -f "$p/client.csr"
	chmod 600 "$p/server.key" "$p/server.pem" "$p/ca.key" "$p/intermediate.key"
	rm -f "$p/server.csr" "$p/intermediate.csr" "$p/ca.srl" "$p/intermediate.srl"
}

gen_ssh_keys() {
	local k=$S/ssh t
	mkdir -p "$k"
	chmod 700 "$k"
	for t in ed25519 rsa ecdsa; do
		[ -f "$k/ssh_host_${t}_key" ] || ssh-keygen -q -t "$t" -N '' -C "cflux-test-host" -f "$k/ssh_host_${t}_key"
		[ -f "$k/id_$t" ] || ssh-keygen -q -t "$t" -N '' -C "cflux-test-$t" -f "$k/id_$t"
	done
	[ -f "$k/id_ed25519_pass" ] ||
		ssh-keygen -q -t ed25519 -N "$SSH_PASSPHRASE" -C "cflux-test-ed25519-pass" -f "$k/id_ed25519_pass"
	# Every client key may log in, only to run the git wrapper.
	local opts="restrict,command=\"$CLUSTER_SCRIPTS/git-ssh-shell.sh $S/git\""
	: >"$k/authorized_keys"
	for t in ed25519 rsa ecdsa ed25519_pass; do
		printf '%s %s\n' "$opts" "$(cat "$k/id_$t.pub")" >>"$k/authorized_keys"
	done
	chmod 600 "$k/authorized_keys"
}

# ------------------------------------------------------------------ up
servers_up() {
	if all_alive && [ -f "$ENVF" ]; then
		log "servers already running (state $S, env $ENVF)"
		return 0
	fi
	local n
	for n in $NAMES; do [ -f "$S/$n.pid" ] && { log "cleaning up a partial earlier run"; servers_down; break; }; done

	up_done=0
	trap 'exit 130' INT TERM
	trap '[ "$up_done" = 1 ] || { log "failed: stopping what was started (logs kept in $S)"; servers_down; }' EXIT

	for b in lighttpd git openssl ssh-keygen htpasswd docker-registry python3 curl tinyproxy node; do
		command -v "$b" >/dev/null || die "$b not found (run tools/deps.sh)"
	done
	[ -x /usr/sbin/sshd ] || die "/usr/sbin/sshd not found (openssh-server)"
	/usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null ||
		die "python3-jwt / python3-cryptography missing (run tools/deps.sh)"
	[ -f /usr/lib/lighttpd/mod_openssl.so ] || die "lighttpd mod_openssl missing (package lighttpd-mod-openssl)"
	local backend
	backend=$(git --exec-path)/git-http-backend
	[ -x "$backend" ] || die "$backend not found"

	mkdir -p "$S/git" "$S/helm/private" "$S/www-empty" "$S/registry/open" "$S/registry/auth" \
		"$S/registry/token" "$S/registry/tls" "$S/registry/mtls"
	rm -f "$S"/*.log
	gen_pki
	gen_ssh_keys
	[ -f "$S/helm/index.yaml" ] || printf 'apiVersion: v1\nentries: {}\n' >"$S/helm/index.yaml"
	printf '%s:%s\n' "$HTTP_USER" "$HTTP_PASSWORD" >"$S/http-users.plain"
	htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASSWORD" 2>/dev/null | sed '/^$/d' >"$S/registry/htpasswd"
	chmod 600 "$S/http-users.plain"

	local GIT_HTTP_PORT GIT_HTTPS_PORT GIT_DAEMON_PORT SSH_PORT REGISTRY_PORT REGISTRY_AUTH_PORT HELM_PORT
	local GIT_MTLS_PORT PROXY_PORT REGISTRY_TOKEN_PORT REGISTRY_TLS_PORT TOKEN_PORT S3_PORT S3_TLS_PORT AZBLOB_PORT
	local REGISTRY_MTLS_PORT HELM_TLS_PORT
	read -r GIT_HTTP_PORT GIT_HTTPS_PORT GIT_DAEMON_PORT SSH_PORT REGISTRY_PORT REGISTRY_AUTH_PORT HELM_PORT \
		GIT_MTLS_PORT PROXY_PORT REGISTRY_TOKEN_PORT REGISTRY_TLS_PORT TOKEN_PORT S3_PORT S3_TLS_PORT AZBLOB_PORT \
		REGISTRY_MTLS_PORT HELM_TLS_PORT <<<"$(free_ports 17)"

	# ---- lighttpd: git smart HTTP(S)
	cat >"$S/lighttpd-git.conf" <<EOF
# generated by test/cluster/servers.sh
server.modules = ("mod_access", "mod_alias", "mod_setenv", "mod_auth", "mod_authn_file",
                  "mod_cgi", "mod_accesslog", "mod_openssl")
server.bind = "$H"
server.port = $GIT_HTTP_PORT
server.document-root = "$S/www-empty"
server.errorlog = "$S/lighttpd-git-error.log"
accesslog.filename = "$S/git-access.log"
accesslog.format = "%h %V %u %t \"%r\" %>s %b"
server.max-request-size = 0
\$SERVER["socket"] == "$H:$GIT_HTTPS_PORT" {
    ssl.engine = "enable"
    ssl.pemfile = "$S/pki/server.crt"
    ssl.privkey = "$S/pki/server.key"
}
\$SERVER["socket"] == "$H:$GIT_MTLS_PORT" {
    ssl.engine = "enable"
    ssl.pemfile = "$S/pki/server.crt"
    ssl.privkey = "$S/pki/server.key"
    ssl.ca-file = "$S/pki/ca.crt"
    ssl.verifyclient.activate = "enable"
    ssl.verifyclient.enforce = "enable"
}
auth.backend = "plain"
auth.backend.plain.userfile = "$S/http-users.plain"
alias.url = ( "/git/" => "$backend/", "/auth-git/" => "$backend/" )
\$HTTP["url"] =~ "^/(auth-)?git/" {
    cgi.assign = ( "" => "" )
    setenv.add-environment = (
        "GIT_PROJECT_ROOT" => "$S/git",
        "GIT_HTTP_EXPORT_ALL" => "1",
        "GIT_CONFIG_NOSYSTEM" => "1",
        "GIT_CONFIG_COUNT" => "2",
        "GIT_CONFIG_KEY_0" => "safe.directory",
        "GIT_CONFIG_VALUE_0" => "*",
        "GIT_CONFIG_KEY_1" => "http.receivepack",
        "GIT_CONFIG_VALUE_1" => "true",
    )
}
\$HTTP["url"] =~ "^/auth-git/" {
    auth.require = ( "" => ( "method" => "basic", "realm" => "cflux-test-git", "require" => "valid-user" ) )
}
EOF
	lighttpd -tt -f "$S/lighttpd-git.conf" >/dev/null 2>"$S/lighttpd-git.log" ||
		{ tail_log "$S/lighttpd-git.log"; die "lighttpd (git) config rejected"; }
	start_proc lighttpd-git "$S/lighttpd-git.pid" "$S/lighttpd-git.log" "$(command -v lighttpd)" \
		-D -f "$S/lighttpd-git.conf"

	# ---- lighttpd: static Helm repository
	cat >"$S/lighttpd-helm.conf" <<EOF
# generated by test/cluster/servers.sh
server.modules = ("mod_access", "mod_auth", "mod_authn_file", "mod_accesslog", "mod_openssl")
server.bind = "$H"
server.port = $HELM_PORT
# The same files over HTTPS (the test CA's server certificate).
\$SERVER["socket"] == "$H:$HELM_TLS_PORT" {
    ssl.engine = "enable"
    ssl.pemfile = "$S/pki/server.crt"
    ssl.privkey = "$S/pki/server.key"
}
server.document-root = "$S/helm"
server.errorlog = "$S/lighttpd-helm-error.log"
accesslog.filename = "$S/helm-access.log"
accesslog.format = "%h %V %u %t \"%r\" %>s %b"
# A test rewrites index.yaml and asks for it again at once: lighttpd's stat
# cache would answer with the old file's ETag (a 304) for up to a second.
server.stat-cache-engine = "disable"
mimetype.assign = ( ".yaml" => "text/yaml", ".yml" => "text/yaml", ".json" => "application/json",
                    ".tgz" => "application/gzip", ".gz" => "application/gzip", ".prov" => "text/plain",
                    "" => "application/octet-stream" )
auth.backend = "plain"
auth.backend.plain.userfile = "$S/http-users.plain"
\$HTTP["url"] =~ "^/private/" {
    auth.require = ( "" => ( "method" => "basic", "realm" => "cflux-test-helm", "require" => "valid-user" ) )
}
EOF
	lighttpd -tt -f "$S/lighttpd-helm.conf" >/dev/null 2>"$S/lighttpd-helm.log" ||
		{ tail_log "$S/lighttpd-helm.log"; die "lighttpd (helm) config rejected"; }
	start_proc lighttpd-helm "$S/lighttpd-helm.pid" "$S/lighttpd-helm.log" "$(command -v lighttpd)" \
		-D -f "$S/lighttpd-helm.conf"

	# ---- git daemon
	(
		export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'
		start_proc git-daemon "$S/git-daemon.pid" "$S/git-daemon.log" "$(git --exec-path)/git-daemon" \
			--reuseaddr --listen="$H" --port="$GIT_DAEMON_PORT" \
			--base-path="$S/git" --export-all --enable=receive-pack --informative-errors \
			--log-destination=stderr --verbose "$S/git"
	)

	# ---- sshd
	[ -d /run/sshd ] || mkdir -p /run/sshd # privilege separation dir sshd insists on
	cat >"$S/sshd_config" <<EOF
# generated by test/cluster/servers.sh
Port $SSH_PORT
ListenAddress $H
HostKey $S/ssh/ssh_host_ed25519_key
HostKey $S/ssh/ssh_host_rsa_key
HostKey $S/ssh/ssh_host_ecdsa_key
PidFile none
AuthorizedKeysFile $S/ssh/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin forced-commands-only
AllowUsers root
UsePAM no
StrictModes no
PermitUserEnvironment no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PrintMotd no
LogLevel VERBOSE
EOF
	/usr/sbin/sshd -t -f "$S/sshd_config" 2>"$S/sshd.log" || { tail_log "$S/sshd.log"; die "sshd config rejected"; }
	start_proc sshd "$S/sshd.pid" "$S/sshd.log" /usr/sbin/sshd -D -e -f "$S/sshd_config"

	# ---- registries
	# The token server's signing key; the token registry trusts its certificate.
	if [ ! -f "$S/registry/token.crt" ]; then
		openssl ecparam -name prime256v1 -genkey -noout -out "$S/registry/token.key" 2>/dev/null
		openssl req -new -x509 -key "$S/registry/token.key" -days 3650 -subj /CN=cflux-test-token \
			-out "$S/registry/token.crt" 2>/dev/null
	fi
	start_proc token-server "$S/token-server.pid" "$S/token-server.log" /usr/bin/python3 \
		"$CLUSTER_SCRIPTS/registry-token.py" "$H:$TOKEN_PORT" "$S/registry/token.key" "$S/registry/token.crt" \
		cflux-test-issuer "$REGISTRY_USER" "$REGISTRY_PASSWORD"
	local name port auth tls
	for name in registry registry-auth registry-token registry-tls registry-mtls; do
		auth="" tls=""
		case $name in
		registry) port=$REGISTRY_PORT ;;
		registry-auth | registry-tls | registry-mtls)
			port=$REGISTRY_AUTH_PORT
			auth="auth:
  htpasswd:
    realm: cflux-test-registry
    path: $S/registry/htpasswd"
			if [ "$name" = registry-tls ]; then
				port=$REGISTRY_TLS_PORT
				tls="  tls:
    certificate: $S/pki/server.crt
    key: $S/pki/server.key"
			elif [ "$name" = registry-mtls ]; then
				# Go's tls.RequireAndVerifyClientCert: no handshake
				# without a client certificate signed by the test CA.
				port=$REGISTRY_MTLS_PORT
				tls="  tls:
    certificate: $S/pki/server.crt
    key: $S/pki/server.key
    clientcas:
      - $S/pki/ca.crt"
			fi ;;
		registry-token)
			port=$REGISTRY_TOKEN_PORT
			auth="auth:
  token:
    realm: http://$H:$TOKEN_PORT/token
    service: cflux-test-registry
    issuer: cflux-test-issuer
    rootcertbundle: $S/registry/token.crt" ;;
		esac
		cat >"$S/$name.yml" <<EOF
# generated by test/cluster/servers.sh
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $S/registry/${name#registry-}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $H:$port
  secret: $(openssl rand -hex 16)
$tls
$auth
EOF
		start_proc "$name" "$S/$name.pid" "$S/$name.log" "$(command -v docker-registry)" serve "$S/$name.yml"
	done

	# ---- tinyproxy (no ConnectPort line: CONNECT to any port)
	cat >"$S/proxy.conf" <<EOF
# generated by test/cluster/servers.sh
Port $PROXY_PORT
Listen $H
Timeout 60
LogFile "$S/proxy-access.log"
LogLevel Connect
MaxClients 64
BasicAuth $PROXY_USER $PROXY_PASSWORD
Allow 127.0.0.1
Allow $H/24
${POD_CIDR:+Allow $POD_CIDR}
DisableViaHeader Yes
EOF
	start_proc proxy "$S/proxy.pid" "$S/proxy.log" "$(command -v tinyproxy)" -d -c "$S/proxy.conf"

	# ---- S3: versitygw on a posix directory (metadata in a sidecar
	# directory: no dependence on the file system's xattrs), one gateway on
	# plain HTTP and one on HTTPS over the same buckets.
	. "$CLUSTER_SCRIPTS/versions.sh"
	local tb=${CFLUX_TESTBIN:-$HOME/.cache/cflux/testbin}
	local vgw=$tb/versitygw-$VERSITYGW_VERSION/versitygw
	local azurite=$tb/azurite-$AZURITE_VERSION/node_modules/.bin/azurite-blob
	mkdir -p "$S/s3/data" "$S/s3/meta"
	(
		# Credentials by environment, not argv (ps shows argv to everyone).
		export ROOT_ACCESS_KEY=$S3_ACCESS_KEY ROOT_SECRET_KEY=$S3_SECRET_KEY VGW_REGION=$S3_REGION
		start_proc s3 "$S/s3.pid" "$S/s3.log" "$vgw" --port "$H:$S3_PORT" --quiet \
			--access-log "$S/s3-access.log" \
			posix --sidecar "$S/s3/meta" "$S/s3/data"
		start_proc s3-tls "$S/s3-tls.pid" "$S/s3-tls.log" "$vgw" --port "$H:$S3_TLS_PORT" \
			--cert "$S/pki/server.crt" --key "$S/pki/server.key" --quiet \
			posix --sidecar "$S/s3/meta" "$S/s3/data"
	)
	# ---- Azure Blob: Azurite, path-style URLs, in memory (its on-disk
	# database takes 20 ms a blob once it holds thousands).
	[ -x "$azurite" ] || die "azurite: $azurite is missing (run: bash test/cluster/build.sh servers)"
	start_proc azurite "$S/azurite.pid" "$S/azurite.log" "$(command -v node)" "$azurite" \
		--blobHost "$H" --blobPort "$AZBLOB_PORT" --inMemoryPersistence \
		--skipApiVersionCheck --disableProductStyleUrl --disableTelemetry --silent

	# ---- wait for every listener
	local ca=$S/pki/ca.crt
	http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@"; }
	ok_200() { [ "$(http_code "$@")" = 200 ]; }
	ok_401() { [ "$(http_code "$@")" = 401 ]; }
	port_open() { python3 -c 'import socket,sys;socket.create_connection((sys.argv[2],int(sys.argv[1])),1).close()' "$1" "$2"; }
	wait_until 20 "lighttpd (git, http)" "$S/lighttpd-git.pid" ok_401 "http://$H:$GIT_HTTP_PORT/auth-git/x.git/info/refs" ||
		{ tail_log "$S/lighttpd-git.log"; tail_log "$S/lighttpd-git-error.log"; die "lighttpd (git) not serving"; }
	wait_until 20 "lighttpd (git, https)" "$S/lighttpd-git.pid" ok_401 --cacert "$ca" "https://$H:$GIT_HTTPS_PORT/auth-git/x.git/info/refs" ||
		{ tail_log "$S/lighttpd-git-error.log"; die "lighttpd (git, https) not serving"; }
	wait_until 20 "lighttpd (git, mutual TLS)" "$S/lighttpd-git.pid" ok_401 --cacert "$ca" \
		--cert "$S/pki/client.crt" --key "$S/pki/client.key" "https://$H:$GIT_MTLS_PORT/auth-git/x.git/info/refs" ||
		{ tail_log "$S/lighttpd-git-error.log"; die "lighttpd (git, mutual TLS) not serving"; }
	wait_until 20 "lighttpd (helm)" "$S/lighttpd-helm.pid" ok_200 "http://$H:$HELM_PORT/index.yaml" ||
		{ tail_log "$S/lighttpd-helm-error.log"; die "lighttpd (helm) not serving"; }
	wait_until 20 "lighttpd (helm, https)" "$S/lighttpd-helm.pid" ok_200 --cacert "$ca" "https://$H:$HELM_TLS_PORT/index.yaml" ||
		{ tail_log "$S/lighttpd-helm-error.log"; die "lighttpd (helm, https) not serving"; }
	wait_until 20 "git daemon" "$S/git-daemon.pid" port_open "$GIT_DAEMON_PORT" "$H" ||
		{ tail_log "$S/git-daemon.log"; die "git daemon not listening"; }
	wait_until 20 "sshd" "$S/sshd.pid" port_open "$SSH_PORT" "$H" ||
		{ tail_log "$S/sshd.log"; die "sshd not listening"; }
	wait_until 20 "registry" "$S/registry.pid" ok_200 "http://$H:$REGISTRY_PORT/v2/" ||
		{ tail_log "$S/registry.log"; die "registry not serving"; }
	wait_until 20 "registry-auth" "$S/registry-auth.pid" ok_401 "http://$H:$REGISTRY_AUTH_PORT/v2/" ||
		{ tail_log "$S/registry-auth.log"; die "registry (auth) not serving"; }
	wait_until 20 "registry-token" "$S/registry-token.pid" ok_401 "http://$H:$REGISTRY_TOKEN_PORT/v2/" ||
		{ tail_log "$S/registry-token.log"; die "registry (token) not serving"; }
	wait_until 20 "registry-tls" "$S/registry-tls.pid" ok_401 --cacert "$ca" "https://$H:$REGISTRY_TLS_PORT/v2/" ||
		{ tail_log "$S/registry-tls.log"; die "registry (tls) not serving"; }
	wait_until 20 "registry-mtls" "$S/registry-mtls.pid" ok_401 --cacert "$ca" \
		--cert "$S/pki/client.crt" --key "$S/pki/client.key" "https://$H:$REGISTRY_MTLS_PORT/v2/" ||
		{ tail_log "$S/registry-mtls.log"; die "registry (mutual TLS) not serving"; }
	wait_until 20 "token-server" "$S/token-server.pid" ok_200 "http://$H:$TOKEN_PORT/token?service=x" ||
		{ tail_log "$S/token-server.log"; die "token server not serving"; }
	ok_407() { [ "$(http_code "$@")" = 407 ]; }
	wait_until 20 "proxy" "$S/proxy.pid" ok_407 -x "http://$H:$PROXY_PORT" "http://$H:$HELM_PORT/index.yaml" ||
		{ tail_log "$S/proxy.log"; die "tinyproxy not serving"; }

	ok_403() { [ "$(http_code "$@")" = 403 ]; }
	wait_until 30 "versitygw" "$S/s3.pid" ok_403 "http://$H:$S3_PORT/" ||
		{ tail_log "$S/s3.log"; die "versitygw not serving"; }
	wait_until 30 "versitygw (https)" "$S/s3-tls.pid" ok_403 --cacert "$ca" "https://$H:$S3_TLS_PORT/" ||
		{ tail_log "$S/s3-tls.log"; die "versitygw (https) not serving"; }
	wait_until 30 "azurite" "$S/azurite.pid" ok_403 "http://$H:$AZBLOB_PORT/$AZBLOB_ACCOUNT?comp=list" ||
		{ tail_log "$S/azurite.log"; die "azurite not serving"; }

	# ---- known_hosts (plain and hashed)
	local k=$S/ssh t
	: >"$k/known_hosts"
	for t in ed25519 rsa ecdsa; do
		printf '[%s]:%s %s\n' "$H" "$SSH_PORT" "$(cut -d' ' -f1,2 "$k/ssh_host_${t}_key.pub")" >>"$k/known_hosts"
	done
	cp "$k/known_hosts" "$k/known_hosts_hashed"
	ssh-keygen -q -H -f "$k/known_hosts_hashed" >/dev/null 2>&1
	rm -f "$k/known_hosts_hashed.old"

	local ssh_cmd="ssh -F /dev/null -i $k/id_ed25519 -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$k/known_hosts"
	cat >"$ENVF.tmp" <<EOF
# Generated by test/cluster/servers.sh; source it (sh/bash).
export SERVERS_DIR='$S'
# every server listens on this address (the node's HOST_ADDR, else loopback)
export SERVERS_HOST='$H'
export TEST_CA='$S/pki/ca.crt'
export TEST_CA_KEY='$S/pki/ca.key'
export GIT_ROOT='$S/git'
# git smart HTTP: \$GIT_HTTP_URL/NAME.git (no auth), \$GIT_HTTP_AUTH_URL/NAME.git (basic auth)
export GIT_HTTP_PORT='$GIT_HTTP_PORT'
export GIT_HTTPS_PORT='$GIT_HTTPS_PORT'
export GIT_HTTP_URL='http://$H:$GIT_HTTP_PORT/git'
export GIT_HTTP_AUTH_URL='http://$H:$GIT_HTTP_PORT/auth-git'
export GIT_HTTPS_URL='https://$H:$GIT_HTTPS_PORT/git'
export GIT_HTTPS_AUTH_URL='https://$H:$GIT_HTTPS_PORT/auth-git'
# the same over HTTPS that requires a client certificate signed by TEST_CA
export GIT_MTLS_URL='https://$H:$GIT_MTLS_PORT/git'
export TEST_CLIENT_CERT='$S/pki/client.crt'
export TEST_CLIENT_KEY='$S/pki/client.key'
export GIT_HTTP_USER='$HTTP_USER'
export GIT_HTTP_PASSWORD='$HTTP_PASSWORD'
export GIT_HTTP_ACCESS_LOG='$S/git-access.log'
# git://
export GIT_DAEMON_PORT='$GIT_DAEMON_PORT'
export GIT_DAEMON_URL='git://$H:$GIT_DAEMON_PORT'
# SSH: \$GIT_SSH_URL/NAME.git; keys accept any of the client keys below
export GIT_SSH_PORT='$SSH_PORT'
export GIT_SSH_USER='root'
export GIT_SSH_URL='ssh://root@$H:$SSH_PORT'
export SSH_KEY_ED25519='$k/id_ed25519'
export SSH_KEY_RSA='$k/id_rsa'
export SSH_KEY_ECDSA='$k/id_ecdsa'
export SSH_KEY_ED25519_PASS='$k/id_ed25519_pass'
export SSH_KEY_PASSPHRASE='$SSH_PASSPHRASE'
export SSH_KNOWN_HOSTS='$k/known_hosts'
export SSH_KNOWN_HOSTS_HASHED='$k/known_hosts_hashed'
export SSH_HOST_KEY_ED25519_PUB='$k/ssh_host_ed25519_key.pub'
export SSH_HOST_KEY_RSA_PUB='$k/ssh_host_rsa_key.pub'
export SSH_HOST_KEY_ECDSA_PUB='$k/ssh_host_ecdsa_key.pub'
export GIT_SSH_COMMAND='$ssh_cmd'
# OCI registries (distribution v2): \$REGISTRY_HOST/NAME:TAG
export REGISTRY_PORT='$REGISTRY_PORT'
export REGISTRY_HOST='$H:$REGISTRY_PORT'
export REGISTRY_URL='http://$H:$REGISTRY_PORT'
export REGISTRY_AUTH_PORT='$REGISTRY_AUTH_PORT'
export REGISTRY_AUTH_HOST='$H:$REGISTRY_AUTH_PORT'
export REGISTRY_AUTH_URL='http://$H:$REGISTRY_AUTH_PORT'
export REGISTRY_USER='$REGISTRY_USER'
export REGISTRY_PASSWORD='$REGISTRY_PASSWORD'
# token auth (Bearer; anonymous tokens pull public/* only) and HTTPS (TEST_CA) with basic auth
export REGISTRY_TOKEN_HOST='$H:$REGISTRY_TOKEN_PORT'
export REGISTRY_TOKEN_URL='http://$H:$REGISTRY_TOKEN_PORT'
export REGISTRY_TOKEN_REALM='http://$H:$TOKEN_PORT/token'
export REGISTRY_TOKEN_LOG='$S/token-server.log'
export REGISTRY_TLS_HOST='$H:$REGISTRY_TLS_PORT'
export REGISTRY_TLS_URL='https://$H:$REGISTRY_TLS_PORT'
# HTTPS (TEST_CA) requiring a client certificate (TEST_CLIENT_CERT/KEY), and basic auth
export REGISTRY_MTLS_HOST='$H:$REGISTRY_MTLS_PORT'
export REGISTRY_MTLS_URL='https://$H:$REGISTRY_MTLS_PORT'
# registry storage (filesystem driver), to damage blobs in tests
export REGISTRY_DATA='$S/registry'
# Helm repository (static files from \$HELM_DIR, over HTTP and HTTPS with \$TEST_CA; /private/ needs
# \$GIT_HTTP_USER/\$GIT_HTTP_PASSWORD)
export HELM_PORT='$HELM_PORT'
export HELM_URL='http://$H:$HELM_PORT'
export HELM_HTTPS_URL='https://$H:$HELM_TLS_PORT'
export HELM_DIR='$S/helm'
export HELM_ACCESS_LOG='$S/helm-access.log'
export HELM_HTTP_USER='$HTTP_USER'
export HELM_HTTP_PASSWORD='$HTTP_PASSWORD'
# HTTP proxy (basic auth), its log of every request
export PROXY_PORT='$PROXY_PORT'
export PROXY_URL='http://$H:$PROXY_PORT'
export PROXY_USER='$PROXY_USER'
export PROXY_PASSWORD='$PROXY_PASSWORD'
export PROXY_LOG='$S/proxy-access.log'
# S3 (versitygw; SigV4 required): endpoint host:port for Bucket.spec.endpoint,
# HTTPS on S3_TLS_ENDPOINT with TEST_CA; objects with test/cluster/objstore.py
export S3_ENDPOINT='$H:$S3_PORT'
export S3_TLS_ENDPOINT='$H:$S3_TLS_PORT'
export S3_ACCESS_KEY='$S3_ACCESS_KEY'
export S3_SECRET_KEY='$S3_SECRET_KEY'
export S3_REGION='$S3_REGION'
export S3_DATA_DIR='$S/s3/data'
export S3_ACCESS_LOG='$S/s3-access.log'
# Azure Blob (Azurite): the account's blob endpoint (path-style), its name and key
export AZBLOB_URL='http://$H:$AZBLOB_PORT/$AZBLOB_ACCOUNT'
export AZBLOB_ACCOUNT='$AZBLOB_ACCOUNT'
export AZBLOB_KEY='$AZBLOB_KEY'
# pids
EOF
	for n in $NAMES; do
		printf "export %s_PID='%s'\n" "$(echo "$n" | tr 'a-z-' 'A-Z_')" "$(proc_pid "$S/$n.pid")" >>"$ENVF.tmp"
	done
	mv "$ENVF.tmp" "$ENVF"
	# The node's containerd pulls from the open registry over plain HTTP.
	[ -f "$D/node/node.env" ] && bash "$CLUSTER_SCRIPTS/node.sh" registry "$H:$REGISTRY_PORT"
	up_done=1
	log "servers up; environment in $ENVF"
}

status() {
	local n rc=0
	for n in $NAMES; do
		if proc_alive "$S/$n.pid"; then echo "$n: running (pid $(proc_pid "$S/$n.pid"))"; else echo "$n: stopped"; rc=1; fi
	done
	return $rc
}

# bounce NAME SECONDS: stop one server, stay down SECONDS, then start it
# again with the command line up gave it (same ports, data and config).
bounce() {
	local name=$1 secs=$2 cmd
	case " $NAMES " in *" $name "*) ;; *) die "unknown server '$name'" ;; esac
	[ -f "$S/$name.cmd" ] || die "$S/$name.cmd missing: were the servers started by servers.sh up?"
	mapfile -d '' cmd <"$S/$name.cmd"
	stop_proc "$name" "$S/$name.pid"
	sleep "$secs"
	# As up started it: without servers.env in the environment (the
	# registry takes REGISTRY_* variables as configuration).
	for v in $(sed -n 's/^export \([A-Za-z_0-9]*\)=.*/\1/p' "$ENVF"); do unset "$v"; done
	start_proc "$name" "$S/$name.pid" "$S/$name.log" "${cmd[@]}"
}

case "${1:-}" in
up) servers_up ;;
down) servers_down; log "servers down (state $S)" ;;
status) status ;;
bounce) bounce "${2:?usage: servers.sh bounce NAME SECONDS}" "${3:-0}" ;;
*) die "usage: servers.sh up|down|status|bounce NAME SECONDS" ;;
esac
