# KubeVirt monitoring toolkit: top-level build.
#
#   make            build every tool into build/bin/
#   make test       unit tests, bats suites, promtool and man-page lints
#   make demo       the whole pipeline on one machine, with a report (deploy/demo/run)
#   make deps       install build and test dependencies (Debian 12, apt-get)
#   make install    PREFIX=/usr/local DESTDIR= (binaries, entrypoints, man pages, rules)
#   make images     container images, with podman or docker (deploy/images/Containerfile)
#   make bench      run the benchmarks in bench/
#   make SANITIZE=1 BUILD=build/asan unit   unit tests under ASan+UBSan

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)

SHELL    := /bin/bash
MAKEFLAGS += --no-print-directory
CXX      ?= g++
PKGS     := CLI11 spdlog simdjson cpp-httplib zlib libvirt libvirt-qemu libxml-2.0 libcurl yaml-cpp
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++20 -Wall -Wextra -Werror -pthread -MMD -MP -Icommon -Itools \
            -DKV_VERSION='"$(VERSION)"'
ifeq ($(SANITIZE),1)
CXXFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

# The tools, and what each links besides common/ (s6's deps-exe, in one place).
TOOLS             := kv-promfmt kv-domstats kv-watch kv-rulesgen
kv-promfmt_LIBS   := spdlog simdjson cpp-httplib zlib libcurl
kv-domstats_LIBS  := spdlog simdjson libvirt libvirt-qemu libxml-2.0
kv-watch_LIBS     := spdlog simdjson libcurl yaml-cpp
kv-rulesgen_LIBS  := spdlog yaml-cpp

MAN1 := $(TOOLS:%=man/%.1)
MAN5 := man/kv-sample.5 man/kv-watch-config.5
# kv-rulesgen's rule sources, installed as data; in the build tree a link
# to rules/ stands where kv-rulesgen looks (../share/kv-monitoring/rules).
RULES_DATA := $(wildcard rules/*.yaml) rules/README.md
RULES_DIR  := share/kv-monitoring/rules

# Everything below is derived from the lists above.
pkg_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pkg_libs   = $(shell pkg-config --libs $(1) 2>/dev/null)
CXXFLAGS  += $(call pkg_cflags,$(PKGS))
# yaml-cpp has no version macro of its own; kv-rulesgen --version names it.
CXXFLAGS  += -DKV_YAML_CPP_VERSION='"$(shell pkg-config --modversion yaml-cpp 2>/dev/null)"'

COMMON_SRC := $(wildcard common/*.cpp)
COMMON_OBJ := $(COMMON_SRC:%.cpp=$(BUILD)/obj/%.o)
COMMON_LIB := $(BUILD)/lib/libkvcommon.a

UNIT_SRC   := $(wildcard tests/unit/*.cpp)
UNIT_OBJ   := $(UNIT_SRC:%.cpp=$(BUILD)/obj/%.o)
UNIT_BIN   := $(BUILD)/bin/unit-tests

BENCH_BINS := $(BUILD)/bin/kv-gen-samples $(BUILD)/bin/parse-only

.PHONY: all tools test unit bats lint shellcheck doccheck docs demo deps install uninstall clean bench check-deps images
all: tools $(BENCH_BINS) $(BUILD)/bin/kube-apisim
# The shipped tools alone: what install needs (no Go, no test helpers).
tools: $(TOOLS:%=$(BUILD)/bin/%)

all: $(BUILD)/$(RULES_DIR)
$(BUILD)/$(RULES_DIR):
	@mkdir -p $(@D)
	ln -sfn $(abspath rules) $@

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Each tool: main.cpp (wiring) plus a library of its logic, which the unit
# tests link too.
define TOOL_template
$(1)_LIB := $(BUILD)/lib/lib$(1).a
$(1)_OBJ := $$(patsubst %.cpp,$(BUILD)/obj/%.o,$$(filter-out tools/$(1)/main.cpp,$$(wildcard tools/$(1)/*.cpp)))
$$($(1)_LIB): $$($(1)_OBJ)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
$(BUILD)/bin/$(1): $(BUILD)/obj/tools/$(1)/main.o $$($(1)_LIB) $(COMMON_LIB)
	@mkdir -p $$(@D)
	$(CXX) $(LDFLAGS) -pthread -o $$@ $$^ $$(call pkg_libs,$$($(1)_LIBS))
endef
$(foreach t,$(TOOLS),$(eval $(call TOOL_template,$(t))))
# kv-watch's built-in metric configs are embedded with .incbin.
$(BUILD)/obj/tools/kv-watch/builtin_configs.o: $(wildcard tools/kv-watch/configs/*.yaml)
TOOL_LIBS := $(foreach t,$(TOOLS),$($(t)_LIB))
UNIT_PKGS := gtest_main $(sort spdlog simdjson zlib $(foreach t,$(TOOLS),$($(t)_LIBS)))

# Development helpers for the demo, the tests and the benchmarks.
$(BUILD)/bin/kv-gen-samples: $(BUILD)/obj/bench/gen_samples.o $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -pthread -o $@ $^ $(call pkg_libs,spdlog simdjson)
$(BUILD)/bin/parse-only: $(BUILD)/obj/bench/parse_only.o
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(call pkg_libs,simdjson)

# The Kubernetes API simulator the tests run kubectl and kv-watch against:
# Go, standard library only, built offline with every cache under $(BUILD).
APISIM_SRC := $(wildcard tests/apisim/*.go) tests/apisim/go.mod
GO_ENV     := GOCACHE=$(abspath $(BUILD))/go/cache GOPATH=$(abspath $(BUILD))/go/path \
              GOENV=off GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on CGO_ENABLED=0
$(BUILD)/bin/kube-apisim: $(APISIM_SRC)
	@mkdir -p $(@D)
	cd tests/apisim && $(GO_ENV) go build -trimpath -o $(abspath $@) .

$(UNIT_BIN): $(UNIT_OBJ) $(TOOL_LIBS) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -pthread -o $@ $^ $(call pkg_libs,$(UNIT_PKGS))

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Dependencies: installed when a build or test prerequisite is missing.
DEPS_BUILD := g++ make pkg-config git libcli11-dev libspdlog-dev libsimdjson-dev \
              libcpp-httplib-dev zlib1g-dev libgtest-dev libvirt-dev libxml2-dev \
              libcurl4-openssl-dev libyaml-cpp-dev
DEPS_TEST  := bats mandoc jq curl wrk prometheus prometheus-node-exporter python3-yaml \
              python3 python3-prometheus-client libvirt-daemon libvirt-daemon-driver-qemu \
              libvirt-clients qemu-system-x86 qemu-utils iproute2 golang-go openssl \
              linux-image-amd64 busybox-static qemu-guest-agent cpio fdisk e2fsprogs shellcheck
# kubectl talks to the API simulator; Debian's kubernetes-client is installed
# only when no kubectl is on PATH (a cloud SDK's kubectl package conflicts).
KUBECTL_PKG := $(if $(shell command -v kubectl),,kubernetes-client)
# node and npm run the OTLP test receiver, which npm gives the official OTLP
# definitions at test time; Debian's packages only when none is on PATH (a
# Node.js from elsewhere bundles npm and conflicts with Debian's).
NODE_PKGS   := $(if $(shell command -v npm),,nodejs npm)
DEPS_BENCH := golang-github-prometheus-common-dev hyperfine time \
              prometheus-libvirt-exporter collectd-core libmicrohttpd12 libprotobuf-c1 \
              protobuf-compiler libprotobuf-dev
deps:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    $(DEPS_BUILD) $(DEPS_TEST) $(DEPS_BENCH) $(KUBECTL_PKG) $(NODE_PKGS)

# Runs `make deps` only when something is missing, so a ready machine stays quiet.
check-deps:
	@missing=$$(dpkg-query -W -f='$${Status} $${Package}\n' $(DEPS_BUILD) $(DEPS_TEST) $(DEPS_BENCH) $(KUBECTL_PKG) $(NODE_PKGS) 2>&1 \
	    | grep -v '^install ok installed' || true); \
	if [ -n "$$missing" ]; then echo "missing dependencies, running make deps"; $(MAKE) deps; fi

unit: $(UNIT_BIN)
	$(UNIT_BIN)

bats: all
	KV_BUILD=$(abspath $(BUILD)) bats --timing tests/

lint: doccheck shellcheck
	mandoc -T lint -W warning $(MAN1) $(MAN5)

# Every shell script of the repository: *.bash, *.bats, and the files whose
# first line runs bash or sh.
shellcheck:
	@scripts=$$(find . \( -path ./.git -o -path ./$(BUILD) -o -path ./build \) -prune -o -type f -print | sed 's|^\./||' | sort | \
	  while read -r f; do \
	    case "$$f" in *.bash|*.bats) echo "$$f" ;; *) head -n 1 "$$f" | grep -qE '^#!.*[/ ](ba)?sh\b|^#!.*bats' && echo "$$f" ;; esac; \
	  done); \
	echo "shellcheck: $$(echo $$scripts | wc -w) scripts"; \
	shellcheck -x $$scripts

KV_WATCH_CONFIGS := tools/kv-watch/configs/kubevirt.yaml tools/kv-watch/configs/kube-state.yaml

# Docs that must not drift from the code: options in --help vs the man
# pages, and docs/metrics.md vs the metric catalog (`make docs` rewrites it).
doccheck: all
	tests/helpers/check-help-vs-man $(BUILD)/bin $(TOOLS)
	tests/helpers/gen-metrics-doc common/metric_catalog.def $(KV_WATCH_CONFIGS) | diff -u docs/metrics.md - \
	  || { echo "docs/metrics.md is stale: run make docs"; exit 1; }

docs:
	tests/helpers/gen-metrics-doc common/metric_catalog.def $(KV_WATCH_CONFIGS) >docs/metrics.md

# deploy/manifests (Kubernetes manifests as kustomize bases and overlays).
# `make manifests` writes its generated files again: the PrometheusRule, from
# kv-rulesgen for the newest KubeVirt release the rule sources know, and the
# KubeVirt CR patch, from the virt-handler DaemonSet patch.
# tests/deploy-manifests.bats fails when the checked-in ones are stale; it
# also needs kubectl (kustomize v5) and systemd-analyze (for the host units).
.PHONY: manifests
DEPS_TEST += systemd
manifests: $(BUILD)/bin/kv-rulesgen $(BUILD)/$(RULES_DIR)
	PATH=$(abspath $(BUILD))/bin:$$PATH tests/helpers/gen-deploy-manifests deploy/manifests

test: check-deps
	$(MAKE) all
	set -o pipefail; { $(MAKE) unit && $(MAKE) lint && $(MAKE) bats; } 2>&1 | tests/helpers/summarize

# The whole hybrid architecture on one machine (deploy/demo/run): the API
# simulator and private libvirtds feeding the collectors' entrypoints,
# Prometheus scraping them with kv-rulesgen's rules, and a report it checks.
demo: check-deps
	$(MAKE) all
	KV_BUILD=$(abspath $(BUILD)) deploy/demo/run

bench: all
	bench/promfmt
	bench/watch
	@if [ "$$(id -u)" = 0 ]; then bench/domstats; else echo "not root: skipping bench/domstats" >&2; fi

# The containers' entrypoints, and the functions they share, which they find
# at ../share/kv-monitoring from their own directory.
ENTRYPOINTS   := kv-central-collector kv-node-collector kv-textfile-collector
ENTRYPOINT_LIB := share/kv-monitoring/kv-entrypoint.bash

install: tools
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0755 $(TOOLS:%=$(BUILD)/bin/%) $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(ENTRYPOINTS:%=deploy/entrypoints/bin/%) $(DESTDIR)$(PREFIX)/bin/
	install -D -m 0644 deploy/entrypoints/$(ENTRYPOINT_LIB) $(DESTDIR)$(PREFIX)/$(ENTRYPOINT_LIB)
	install -m 0644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/
	install -d $(DESTDIR)$(PREFIX)/$(RULES_DIR)
	install -m 0644 $(RULES_DATA) $(DESTDIR)$(PREFIX)/$(RULES_DIR)/

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(PREFIX)/bin/%) $(ENTRYPOINTS:%=$(DESTDIR)$(PREFIX)/bin/%) \
	      $(DESTDIR)$(PREFIX)/$(ENTRYPOINT_LIB) \
	      $(MAN1:man/%=$(DESTDIR)$(PREFIX)/share/man/man1/%) \
	      $(MAN5:man/%=$(DESTDIR)$(PREFIX)/share/man/man5/%) \
	      $(RULES_DATA:rules/%=$(DESTDIR)$(PREFIX)/$(RULES_DIR)/%)
	-rmdir $(DESTDIR)$(PREFIX)/$(RULES_DIR) $(DESTDIR)$(PREFIX)/share/kv-monitoring 2>/dev/null

# The three images of deploy/images/Containerfile, one target each, built
# from this directory; needs podman or docker (CONTAINER_ENGINE).
CONTAINER_ENGINE ?= $(or $(shell command -v podman),$(shell command -v docker),podman)
IMAGE_REGISTRY   ?= quay.io/kv-monitoring
IMAGE_TAG        ?= $(VERSION)
IMAGES           := central-collector node-collector rulesgen
images:
	for image in $(IMAGES); do \
	  $(CONTAINER_ENGINE) build -f deploy/images/Containerfile --target $$image \
	    --build-arg VERSION=$(VERSION) --build-arg REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) \
	    -t $(IMAGE_REGISTRY)/$$image:$(IMAGE_TAG) . || exit 1; \
	done

clean:
	rm -rf $(BUILD)
