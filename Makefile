# cflux: plain GNU Makefile driven by pkg-config (git/redis style).
#
#   make / make build     bin/cflux-operator (and bin/cflux)
#   make demo             a local control plane, git server and the operator applying a sample app
#   make image            the cflux-operator OCI image (no Docker daemon), pushed to the local registry
#   make test             every test: unit, fuzz-corpus replay, integration
#                         against a real control plane; ends "N passed, N failed"
#   make unit             unit tests and fuzz replay only (no cluster)
#   make deps             install the Debian packages the build and tests need
#   make fuzz             real libFuzzer binaries (clang) under build/fuzz/
#   make cluster-up / cluster-down   the local control plane (test/cluster/)
#   make lint             banned.h and style checks
#   make bench            cflux vs Flux vs the apiserver floor, N apps (BENCH_N=100)
#   make bench-kube       lib/kube figures (informer memory, watch latency, SSA rate)
#   make bench-kustomize  bin/cflux kustomize build vs kustomize on a 1000-resource overlay
#   make bench-git        lib/source/git.c vs git clone/fetch --depth 1, 10 000 files / 100 MB
#   make bench-helm       bin/cflux helm template vs helm template, a large chart and 100 renders
#   make bench-oci        bin/cflux pull artifact vs crane and oras, a 100 MiB artifact
#   make tmpl-random      random templates and values: lib/tmpl vs Helm's engine (TMPL_SEED, TMPL_N)
#   make soak / chaos     campaigns: an hour of changes at N=500; faults while 50 Kustomizations change
#
# Switches: SANITIZE=address,undefined (own build directory per set, objects
# never mix), DEVELOPER=1 (warnings are errors), V=1 (show commands),
# NO_DEPS=1 (do not run tools/deps.sh).

comma := ,
SHELL := /bin/bash

PKGS := libuv libcurl libcjson yaml-0.1 libgit2 libarchive zlib expat
# Opened at their first use (lib/base/dl.h), not linked: together they bring
# some forty libraries that `cflux helm template` and `kustomize build` never
# need.  Their headers are used; test/unit/test_artifact.c links libarchive
# itself to write hostile archives.
DL_PKGS := libcurl libarchive

# Everything below needs the libraries: install or check them first, once,
# at parse time, so a fresh clone needs no other command (tools/deps.sh is
# idempotent and returns at once when all is there).
# NO_DEPS=1 skips it (the Dockerfile installs only the build's packages).
ifeq ($(filter deps clean help,$(MAKECMDGOALS))$(NO_DEPS),)
DEPS_STATUS := $(shell sh tools/deps.sh >&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error tools/deps.sh failed (status $(DEPS_STATUS)): run 'make deps' as root and read its output)
endif
endif

ifdef SANITIZE
BUILD := build/$(subst $(comma),-,$(SANITIZE))
BIN := $(BUILD)/bin
else
BUILD := build/default
BIN := bin
endif

CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif
OPTFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wvla -Wwrite-strings -Wno-unused-parameter -Wno-format-nonliteral \
	-Wno-format-truncation
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(filter-out $(DL_PKGS),$(PKGS))) -lmbedtls -lmbedx509 -lmbedcrypto \
	-lcrypt -lm -lpthread -ldl

ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(OPTFLAGS) $(WARNINGS) -fno-omit-frame-pointer \
	-Ilib $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(LDFLAGS)
ifdef DEVELOPER
ALL_CFLAGS += -Werror -DCFLUX_DEBUG
endif
ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0)

ifndef V
Q := @
QUIET_CC = @echo '   CC $@';
QUIET_LINK = @echo ' LINK $@';
QUIET_AR = @echo '   AR $@';
endif

LIB_SRCS := $(sort $(wildcard lib/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libcflux.a

CLI_SRCS := $(sort $(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)

OPERATOR_SRCS := $(sort $(wildcard operator/*.c))
OPERATOR_OBJS := $(OPERATOR_SRCS:%.c=$(BUILD)/%.o)
# Everything in operator/ but main() also goes into a library, so unit and
# integration tests can link the reconcilers' pure parts.
OPLIB_OBJS := $(filter-out $(BUILD)/operator/main.o,$(OPERATOR_OBJS))
OPLIB := $(BUILD)/libcflux-operator.a

UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:test/unit/%.c=$(BUILD)/test/%)
HARNESS_OBJ := $(BUILD)/test/unit/harness.o

FUZZ_SRCS := $(sort $(wildcard test/fuzz/fuzz_*.c))
REPLAY_BINS := $(FUZZ_SRCS:test/fuzz/fuzz_%.c=$(BUILD)/test/replay_%)
REPLAY_OBJ := $(BUILD)/test/fuzz/replay.o

ITEST_SRCS := $(sort $(wildcard test/integration/itest_*.c))
ITEST_BINS := $(ITEST_SRCS:test/integration/%.c=$(BUILD)/test/%)

TOOL_SRCS := $(sort $(wildcard test/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:test/tools/%.c=$(BUILD)/test/%)

OBJS := $(LIB_OBJS) $(OPERATOR_OBJS) $(CLI_OBJS) $(HARNESS_OBJ) $(REPLAY_OBJ) \
	$(UNIT_SRCS:%.c=$(BUILD)/%.o) $(FUZZ_SRCS:%.c=$(BUILD)/%.o) \
	$(ITEST_SRCS:%.c=$(BUILD)/%.o) $(TOOL_SRCS:%.c=$(BUILD)/%.o)

.PHONY: all build test unit deps fuzz fuzz-long lint clean help bench-kube bench soak chaos parity bench-kustomize bench-git \
	bench-helm bench-oci demo image tmpl-random test-bucket-large
.DEFAULT_GOAL := all

all build: $(BIN)/cflux-operator $(BIN)/cflux

# A change of compiler or flags rebuilds everything (git's GIT-CFLAGS).
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW := $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(PKG_LIBS)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FLAGS_NOW)' ]; then \
		echo '$(FLAGS_NOW)' >$@; fi
# A new version (every commit) rebuilds only the object that prints it.
VERSION_STAMP := $(BUILD)/.version
$(VERSION_STAMP): FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(VERSION)' ]; then echo '$(VERSION)' >$@; fi

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/operator/main.o: ALL_CFLAGS += -DCFLUX_VERSION='"$(VERSION)"'
$(BUILD)/operator/main.o: $(VERSION_STAMP)
$(BUILD)/test/%.o: ALL_CFLAGS += -Itest/unit -I.
# The template differential driver uses Sprig once lib/tmpl/sprig_*.c exist.
TMPL_SPRIG_FLAG := $(if $(wildcard lib/tmpl/sprig_*.c),-DTMPL_HAVE_SPRIG)
$(BUILD)/test/tools/tmplcase.o $(BUILD)/test/fuzz/fuzz_tmpl_parse.o \
	$(BUILD)/test/fuzz/fuzz_tmpl_exec.o: ALL_CFLAGS += $(TMPL_SPRIG_FLAG)

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(QUIET_AR)ar rcs $@ $^

$(OPLIB): $(OPLIB_OBJS)
	@rm -f $@
	$(QUIET_AR)ar rcs $@ $^

$(BIN)/cflux-operator: $(OPERATOR_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $(OPERATOR_OBJS) $(LIB) $(PKG_LIBS)

$(BIN)/cflux: $(CLI_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(PKG_LIBS)

$(BUILD)/test/test_%: $(BUILD)/test/unit/test_%.o $(HARNESS_OBJ) $(OPLIB) $(LIB)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< $(HARNESS_OBJ) $(OPLIB) $(LIB) $(PKG_LIBS) \
		$(if $(filter artifact,$*),$(shell pkg-config --libs libarchive))

$(BUILD)/test/replay_%: $(BUILD)/test/fuzz/fuzz_%.o $(REPLAY_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< $(REPLAY_OBJ) $(LIB) $(PKG_LIBS)

$(BUILD)/test/itest_%: $(BUILD)/test/integration/itest_%.o $(HARNESS_OBJ) $(OPLIB) $(LIB)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< $(HARNESS_OBJ) $(OPLIB) $(LIB) $(PKG_LIBS)

$(BUILD)/test/%: $(BUILD)/test/tools/%.o $(LIB)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

TEST_BINS := $(UNIT_BINS) $(REPLAY_BINS) $(ITEST_BINS) $(TOOL_BINS)

# The test runner: unit tests and corpus replays, then the integration
# suite against a real control plane it brings up and always takes down.
test: $(BIN)/cflux-operator $(BIN)/cflux $(TEST_BINS) testbin
	$(Q)BUILD=$(BUILD) BIN=$(BIN) bash test/run.sh all

unit: $(BIN)/cflux-operator $(BIN)/cflux $(TEST_BINS)
	$(Q)BUILD=$(BUILD) BIN=$(BIN) bash test/run.sh unit

deps:
	sh tools/deps.sh

# The operator's image, reproducible, from Debian packages (tools/image.sh).
image: $(BIN)/cflux-operator
	$(Q)VERSION=$(VERSION) BIN=$(BIN) bash tools/image.sh >/dev/null

# The product's main job on a local control plane: see tools/demo.sh.
demo: $(BIN)/cflux-operator testbin
	$(Q)BIN=$(BIN) bash tools/demo.sh

# Figures, not tests: cflux, Flux and the apiserver's floor on the same
# work (test/bench/run.sh; BENCH_N=1000 for the full size).
BENCH_N ?= 100
bench: $(BIN)/cflux-operator $(BUILD)/test/benchfloor testbin
	$(Q)BENCH_N=$(BENCH_N) BUILD=$(BUILD) BIN=$(BIN) bash test/bench/run.sh

# A campaign, not a test: an hour at N=500 with one change of all N a
# minute; RSS and fds must stay flat, no reconcile may fail
# (test/bench/run.sh's soak(); SOAK_N, SOAK_MINUTES; report build/bench/soak.md).
SOAK_N ?= 500
SOAK_MINUTES ?= 60
soak: $(BIN)/cflux-operator $(BUILD)/test/benchfloor testbin
	$(Q)BENCH_N=$(SOAK_N) BENCH_RUNS=cflux BENCH_SOAK_MINUTES=$(SOAK_MINUTES) BUILD=$(BUILD) BIN=$(BIN) \
		bash test/bench/run.sh

# A campaign, not a test: faults (operator SIGKILL, apiserver and etcd
# restarts, compaction, source servers down, apiserver errors, a full
# disk) while 50 Kustomizations from 10 sources change; everything must
# converge and stay whole (test/chaos/run.sh; CHAOS_REPS, CHAOS_FAULTS;
# report build/chaos/report.md).  Needs make cluster-up.
chaos: $(BIN)/cflux-operator $(BIN)/cflux testbin
	$(Q)BIN=$(BIN) bash test/chaos/run.sh

# Figures, not tests: our kustomize next to the real one on a 1000-resource
# overlay (test/bench/kustomize.sh; BENCH_KZ_N, BENCH_KZ_RUNS).
bench-kustomize: $(BIN)/cflux
	$(Q)BIN=$(BIN) bash test/bench/kustomize.sh

# Figures, not tests: our helm template next to helm's on a large chart and
# 100 renders of a mid-size one (test/bench/helm.sh; BENCH_HELM_RUNS, BENCH_HELM_N).
bench-helm: $(BIN)/cflux
	$(Q)BIN=$(BIN) bash test/bench/helm.sh

# Figures, not tests: pull and extract a 100 MiB Flux artifact with our CLI
# next to crane and oras, from the test servers' registry (test/bench/oci.sh;
# BENCH_OCI_MB, BENCH_OCI_RUNS).
bench-oci: $(BIN)/cflux
	$(Q)BIN=$(BIN) bash test/bench/oci.sh

# lib/source/git.c (one src_git_fetch, as the GitRepository reconciler)
# next to git on a 10 000-file, 100 MB repository from the test servers
# (test/bench/git.sh; BENCH_GIT_FILES, BENCH_GIT_MB, BENCH_GIT_RUNS).
# The parity suite (test/e2e/parity.sh): public directories through Flux's
# own source- and kustomize-controller, then through cflux, compared; part
# of make test, and on its own here.  Needs make cluster-up.
parity: $(BIN)/cflux-operator testbin
	$(Q)bash test/e2e/parity.sh

bench-git: $(BUILD)/test/gitbench
	$(Q)BUILD=$(BUILD) bash test/bench/git.sh

# The Bucket scenario with 10 000 blobs on Azurite too (make test gives it
# 1 000: Azurite's cost per blob grows with what it holds).  Needs the
# local control plane and servers (make cluster-up).
test-bucket-large: $(BIN)/cflux-operator
	$(Q)BUCKET_AZ_OBJECTS=10000 BIN=$(BIN) bash test/e2e/bucket.sh

# Figures, not tests: lib/kube against the local control plane.
bench-kube: $(BUILD)/test/kubebench testbin
	$(Q)BUILD=$(BUILD) bash test/bench/kube.sh

# Not a test of make test: random templates and values through lib/tmpl and
# Helm's engine (test/tools/tmplrand.py; TMPL_SEED, TMPL_N per kind).
TMPL_SEED ?= 1
TMPL_N ?= 1000
tmpl-random: $(BUILD)/test/tmplcase
	$(Q)mkdir -p $(BUILD)/tmplrand
	$(Q)python3 test/tools/tmplrand.py templates $(TMPL_SEED) $(TMPL_N) helm >$(BUILD)/tmplrand/rand_helm.cases
	$(Q)python3 test/tools/tmplrand.py templates $(TMPL_SEED) $(TMPL_N) go >$(BUILD)/tmplrand/rand_go.cases
	$(Q)python3 test/tools/tmplrand.py values $(TMPL_SEED) $(TMPL_N) >$(BUILD)/tmplrand/rand_values.cases
	$(Q)BUILD=$(BUILD) TMPL_CASES="$(BUILD)/tmplrand/rand_helm.cases $(BUILD)/tmplrand/rand_go.cases $(BUILD)/tmplrand/rand_values.cases" \
		bash test/unit/tmpl_diff.sh | grep -v '^ok'; exit $${PIPESTATUS[0]}

# Real fuzzers: clang + libFuzzer, in their own build directory.
FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O1 -g -Ilib $(PKG_CFLAGS) $(TMPL_SPRIG_FLAG) \
	-fsanitize=fuzzer-no-link,address,undefined
fuzz: $(FUZZ_SRCS:test/fuzz/fuzz_%.c=$(FUZZ_BUILD)/fuzz_%)
# An object is rebuilt when its source or any header of lib/ is newer: a
# struct changed in a header left objects of the old layout beside new ones.
$(FUZZ_BUILD)/libcflux.a: $(LIB_SRCS) $(wildcard lib/*/*.h)
	@mkdir -p $(@D)/obj
	$(Q)h=$$(ls -t lib/*/*.h | head -n 1); for s in $(LIB_SRCS); do o=$(@D)/obj/$$(echo $$s | tr / _).o; \
		[ $$o -nt $$s ] && [ $$o -nt $$h ] || clang $(FUZZ_CFLAGS) -c -o $$o $$s || exit 1; done
	$(Q)rm -f $@ && ar rcs $@ $(@D)/obj/*.o
$(FUZZ_BUILD)/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_BUILD)/libcflux.a
	$(QUIET_LINK)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libcflux.a $(PKG_LIBS)

# The long campaign: every target for FUZZ_RUNS executions (test/fuzz/long.sh).
fuzz-long: fuzz
	$(Q)bash test/fuzz/long.sh

lint:
	$(Q)bash tools/lint.sh

clean:
	rm -rf build bin

help:
	@sed -n '2,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

include $(wildcard test/cluster/cluster.mk)
# Without the cluster tooling there is nothing to build for it.
ifeq ($(wildcard test/cluster/cluster.mk),)
.PHONY: testbin
testbin:
endif

.SECONDARY:
FORCE:
.PHONY: FORCE

-include $(OBJS:.o=.d)
