# Dockerfile: the cflux-operator image, for users who build with Docker.
#
#   docker build -t cflux-operator .
#
# The same image as `make image` (tools/image.py, which needs no Docker
# daemon and is what the tests and `make demo` use): the binary built on
# Debian bookworm (libgit2 1.8 from bookworm-backports) and the Debian
# runtime packages it links, plus the tools it runs (ssh, ssh-keygen, gpgv)
# and CA certificates; user 65534, made for a read-only root filesystem
# (/tmp and /data are the chart's emptyDirs).
FROM debian:bookworm AS build
RUN printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		>/etc/apt/sources.list.d/bookworm-backports.sources && \
	apt-get update && \
	apt-get install -y --no-install-recommends build-essential pkg-config git ca-certificates \
		libuv1-dev libcurl4-openssl-dev libcjson-dev libyaml-dev libarchive-dev zlib1g-dev \
		libmbedtls-dev && \
	apt-get install -y --no-install-recommends -t bookworm-backports libgit2-dev
WORKDIR /src
COPY . .
# NO_DEPS: tools/deps.sh would install the test tools too; the build's are above.
RUN make NO_DEPS=1 -j"$(nproc)" bin/cflux-operator && strip --strip-debug bin/cflux-operator

FROM debian:bookworm-slim
RUN printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		>/etc/apt/sources.list.d/bookworm-backports.sources && \
	apt-get update && \
	apt-get install -y --no-install-recommends ca-certificates openssh-client gpgv \
		libuv1 libcurl4 libcjson1 libyaml-0-2 libarchive13 zlib1g \
		libmbedtls14 libmbedx509-1 libmbedcrypto7 && \
	apt-get install -y --no-install-recommends -t bookworm-backports libgit2-1.8 && \
	rm -rf /var/lib/apt/lists/*
COPY --from=build /src/bin/cflux-operator /usr/local/bin/cflux-operator
USER 65534:65534
ENV TMPDIR=/tmp HOME=/tmp
ENTRYPOINT ["/usr/local/bin/cflux-operator"]
