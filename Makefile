# kubeproof: conformance and chaos checks for Kubernetes clusters.
# Everything here works offline: images are built from source on this
# machine and side-loaded into kind clusters.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
KUBEPROOF := $(BIN)/kubeproof
export CGO_ENABLED := 0
# Test output (results, reports, logs) lands here.
ARTIFACTS ?= $(CURDIR)/_output

.PHONY: all build docker node-image upgrade-image cluster cluster-delete run bench test test-deps unit e2e lint clean

all: build

# The version results.json and `kubeproof version` carry.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

build:
	$(GO) build -trimpath -ldflags '-X github.com/kubeproof/kubeproof/internal/version.Version=$(VERSION)' -o $(BIN)/ ./cmd/...
	$(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/kubeproof-workload ./fixtures/workload
	$(GO) build -o $(BIN)/ginkgo github.com/onsi/ginkgo/v2/ginkgo
	$(GO) test -c -o $(BIN)/kubeproof-suites.test ./suites

# Start (and on Debian as root, install) a Docker engine that can run kind nodes.
docker: build
	$(KUBEPROOF) docker up

# The kind node image, built offline; a no-op when its inputs are unchanged.
node-image: docker
	$(KUBEPROOF) image build-node

# The node image that also carries the next minor, for `kubeproof upgrade
# rehearse`: nodeimage.DefaultUpgradeVersion (a unit test keeps them equal).
UPGRADE_VERSION ?= v1.35.4
upgrade-image: docker
	$(KUBEPROOF) image build-node --upgrade-version $(UPGRADE_VERSION)

# A 3-node kind cluster from the embedded default config.
cluster: node-image
	$(KUBEPROOF) cluster create

cluster-delete: build
	$(KUBEPROOF) cluster delete

# The main job: a throwaway kind cluster from the embedded default config,
# every non-disruptive check against it, results in $(ARTIFACTS)/run.
run: node-image
	$(KUBEPROOF) run --kind --output-dir $(ARTIFACTS)/run

# The core profile RUNS times (default 3) on one warm kind cluster: median wall
# time, each check's median and the critical path in $(ARTIFACTS)/bench/bench.json;
# the medians become the checks' scheduling priorities (suites/framework/durations.go).
RUNS ?= 3
bench: node-image
	$(GO) run ./test/bench -runs $(RUNS) -kubeproof $(KUBEPROOF) -out $(ARTIFACTS)/bench -durations suites/framework/durations.go

# Headless Chromium renders the HTML report in a test (Debian, as root).
test-deps:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ] && \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; }; } || \
		{ echo "chromium is needed to test the HTML report: install it (Debian: apt-get install chromium)"; exit 1; }

# Everything but the suites, which need a cluster (e2e runs them).
unit: test-deps
	KUBEPROOF_REQUIRE_CHROMIUM=1 $(GO) test $$($(GO) list ./... | grep -v '/suites$$')

# Tests against real kind clusters.
e2e: node-image upgrade-image
	mkdir -p $(ARTIFACTS)
	KUBEPROOF_BIN=$(KUBEPROOF) ARTIFACTS=$(ARTIFACTS) $(GO) test -tags e2e -count=1 -timeout 75m -v ./test/e2e/... 2>&1 | tee $(ARTIFACTS)/e2e.log; exit $${PIPESTATUS[0]}

test: lint unit e2e

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/...
	$(GO) test -count=1 ./internal/archtest

clean:
	rm -rf $(BIN) $(ARTIFACTS)
