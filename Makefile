# rtcprobe — build, run, test.
#   make run    build and run against the embedded server (no arguments);
#               installs Chromium first when no browser is found (as root)
#   make test   install what the tests need, then run every test
#   make bench  run the benchmarks
#   make dist   release files in dist/: an archive per platform, .deb,
#               .rpm, SHA256SUMS
#   make image  the rtcprobe container image in dist/image (no daemon);
#               make image-browsers adds rtcprobe-browsers (debootstrap),
#               make image-test builds and runs it

GO      ?= go
BIN     := bin/rtcprobe
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
ARGS    ?=
# Debian packages the tests drive for real, each with the tool that shows
# it is installed (Node and npm come with the machine: see the list).
DEB_LIST := internal/testkit/testenv/debian-packages.txt
DEB_PKGS := $(shell sed -e 's/\#.*//' -e '/^ *$$/d' -e 's/ .*//' $(DEB_LIST))
# Third-party Node servers the conformance tests run (package-lock.json pins them).
NODE_DIR := internal/testkit/conformance/node
# The third-party WHIP server the media server tests run: meetecho's
# simple-whip-server from its Debian package (unpacked, not installed: it
# depends on Debian's nodejs, which conflicts with the Node installed
# here), on the Node packages its package-lock.json pins, in front of
# Debian's janus.
MEDIA_DIR := internal/testkit/janus/node
# Tests run in a fresh network namespace with only lo, so no packet can
# leave loopback (needs root, or unprivileged user namespaces).
# The packages whose tests drive browsers (which measure frame rates and
# call set-up times) run one at a time; the rest (servers, probes,
# writers) run beside them in a namespace of their own: they are far
# lighter than the two busy loops the whole suite is verified beside.
# Inside a package, the tests that mostly wait out deadlines run their
# cases at once (-parallel 4).
NETNS := $(shell if [ "$$(id -u)" = 0 ]; then echo "unshare -n"; else echo "unshare -rn"; fi)
TESTFLAGS ?= -race -count=1 -p 1 -parallel 4 -timeout 30m
BROWSER_PKGS := ./browser ./checks ./cmd/rtcprobe ./internal/precall
# The release tests compile the module for other systems and package it,
# and build the small image and run it in a chroot: minutes of CPU that
# would land on the timing tests, so they run after both groups (beside
# the mutants' builds: no test times anything then). Work beside the
# timed tests at any CPU priority shows in the pressure stall figures the
# checks judge this machine's load by (/proc/pressure/cpu counts waiting
# tasks of every priority): it turns their time verdicts into "this
# machine was saturated".
RELEASE_PKGS := ./internal/release ./internal/image
# cmd/rtcprobe's namespace labs drive no browser and judge no time: they
# wait out kernel firewalls' deadlines beside the other packages, not
# between the browser tests. (A test renamed out of this list runs with
# the browser group.)
CLI_LABS := ^(TestFirewallLab|TestPrometheusUDPBlockedLab|TestAuditHardenedCoturn|TestAuditPermissiveCoturn)$$
OTHER_PKGS = $(shell $(GO) list ./... | grep -vE '/rtcprobe/(browser|checks|cmd/rtcprobe|internal/precall|internal/release|internal/image)$$')
# The rtcprobe binary the CLI and conformance tests run, built once, and
# the test binaries, compiled on every core before any test runs (with
# -p 1, go test would compile one package at a time between runs).
TESTBIN := $(CURDIR)/bin/test
INNS = $(NETNS) sh -c 'ip link set lo up && RTCPROBE_TEST_BINARY=$(TESTBIN)/rtcprobe $(GO) test $(TESTFLAGS) -skip "^TestTruth$(2)" $(1)'

.PHONY: build dist image image-browsers image-test run need-browser test test-short truth mutants deps node-deps media-deps bench vet fmt fuzz clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/ ./cmd/rtcprobe ./cmd/rtcprobe-serve

# Release files, reproducible: every entry carries the last commit's time.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
dist:
	rm -rf dist
	$(GO) run ./internal/release/cmd/dist -version $(VERSION) -mtime $(SOURCE_DATE_EPOCH) -out dist

# Container images, built without a daemon, each as an OCI layout
# dist/image/NAME (tagged $(VERSION)) and a docker-archive
# dist/image/NAME.tar (podman load): rtcprobe, the static binary alone;
# rtcprobe-browsers, a Debian root made by debootstrap (root, and minutes
# of downloads) with Chromium and Firefox. image-test runs the default
# checks in rtcprobe-browsers, chrooted in namespaces of its own.
IMAGE_VERSION := $(VERSION)
IMAGE_FLAGS = -version $(IMAGE_VERSION) -revision "$(shell git rev-parse HEAD 2>/dev/null)" -mtime $(SOURCE_DATE_EPOCH) -out dist/image
image:
	$(GO) run ./internal/image/cmd/mkimage $(IMAGE_FLAGS)

image-browsers:
	$(GO) run ./internal/image/cmd/mkimage $(IMAGE_FLAGS) -images rtcprobe-browsers

image-test: deps image-browsers
	RTCPROBE_BROWSERS_IMAGE=$(CURDIR)/dist/image/rtcprobe-browsers:$(IMAGE_VERSION) $(GO) test -tags browsersimage -count=1 -timeout 30m -run TestBrowsersImage -v ./internal/image

run: build need-browser
	./$(BIN) $(ARGS)

# The browser.* checks need Chrome or Chromium, found as browser/find.go
# finds it. Without one, root gets Debian's chromium; anyone else is told
# what to install (the browser checks are then skipped).
BROWSERS := chromium chromium-browser google-chrome google-chrome-stable chrome

need-browser:
	@for b in $$RTCPROBE_BROWSER $(BROWSERS); do command -v $$b >/dev/null 2>&1 && exit 0; done; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "make run: no Chrome/Chromium found, so the browser checks will be skipped: install one (Debian/Ubuntu: sudo apt-get install chromium) or set RTCPROBE_BROWSER"; \
		exit 0; \
	fi; \
	echo "make run: no Chrome/Chromium found; installing Debian's chromium for the browser checks (apt-get update, apt-get install chromium)"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# Resolves the whole package list (apt-get --simulate) on every machine,
# then installs exactly the packages whose tool is missing (root).
deps:
	./internal/testkit/testenv/install-deps $(DEB_LIST)
	$(GO) mod download

# The pinned Node servers, installed exactly as locked (before the tests
# enter their network namespace, which has no registry).
node-deps: deps $(NODE_DIR)/node_modules/.package-lock.json media-deps

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error

media-deps: $(MEDIA_DIR)/node_modules/.package-lock.json $(MEDIA_DIR)/simple-whip-server/src/server.js

$(MEDIA_DIR)/node_modules/.package-lock.json: $(MEDIA_DIR)/package-lock.json
	cd $(MEDIA_DIR) && npm ci --no-audit --no-fund --loglevel=error

# apt-get download needs the package lists: fetched once when missing.
$(MEDIA_DIR)/simple-whip-server/src/server.js:
	@tmp=$$(mktemp -d) && chmod 755 $$tmp && cd $$tmp && \
	{ apt-get download -qq simple-whip-server 2>/dev/null || { apt-get update -qq && apt-get download -qq simple-whip-server; }; } && \
	dpkg-deb -x simple-whip-server_*.deb x && cd - >/dev/null && \
	rm -rf $(MEDIA_DIR)/simple-whip-server && mkdir -p $(MEDIA_DIR)/simple-whip-server && \
	cp $$tmp/x/usr/share/simple-whip-server/src/server.js $$tmp/x/usr/share/simple-whip-server/src/whip-janus.js $(MEDIA_DIR)/simple-whip-server/ && \
	mkdir -p $(MEDIA_DIR)/simple-whip-server/src && mv $(MEDIA_DIR)/simple-whip-server/*.js $(MEDIA_DIR)/simple-whip-server/src/ && \
	rm -rf $$tmp

# go vet, gofmt, a tidy go.mod, and staticcheck (pinned in go.mod as a tool).
vet:
	$(GO) vet ./...
	$(GO) vet -tags mutants ./internal/testkit/mutants
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }
	$(GO) tool staticcheck ./...

# The truth tests (measured numbers against injected network conditions)
# run on their own, without the race detector: on two shared cores, the
# detector and the other packages' tests would add the very delay and
# jitter they measure. The same code runs under -race in the other tests.
# `make mutants` runs them first, unmutated, as its baseline, then proves
# that they bite: so `make test` runs them there.
test: deps node-deps vet
	$(GO) build -o $(TESTBIN)/ ./cmd/rtcprobe ./cmd/rtcprobe-serve
	$(GO) test -race -c -o $(TESTBIN)/ ./... >/dev/null
	@echo "go test $(BROWSER_PKGS), and beside it the other packages (their output follows)"
	@{ $(call INNS,$(OTHER_PKGS)) && $(call INNS,-run "$(CLI_LABS)" ./cmd/rtcprobe); } > $(TESTBIN)/other.log 2>&1 & other=$$!; \
	$(call INNS,$(BROWSER_PKGS),|$(CLI_LABS)); browsers=$$?; \
	wait $$other; others=$$?; cat $(TESTBIN)/other.log; \
	[ $$browsers = 0 ] && [ $$others = 0 ]
	@echo "go test $(RELEASE_PKGS), and beside it the mutants' test binaries are built"
	@$(NETNS) sh -c 'ip link set lo up && $(MUTANTS_ENV) $(GO) test -tags mutants -count=1 -run "^TestMutantsBuild$$" ./internal/testkit/mutants' > $(TESTBIN)/mutants-build.log 2>&1 & built=$$!; \
	$(call INNS,$(RELEASE_PKGS)); release=$$?; \
	wait $$built; [ $$release = 0 ]
	$(MAKE) mutants

truth:
	$(NETNS) sh -c 'ip link set lo up && $(GO) test -count=1 -p 1 -parallel 4 -timeout 20m -run "^TestTruth" ./probes'

# Each deliberately wrong variant of the metric code must fail the tests
# named for it (internal/testkit/mutants; the tree is never modified), after the
# truth tests pass on the code as it is.
# The mutants' binaries are kept in MUTANTS_DIR, each with a stamp of
# what it was built from: a second run builds only what changed.
MUTANTS_ENV = RTCPROBE_MUTANTS_DIR=$(TESTBIN)/mutants
mutants:
	$(NETNS) sh -c 'ip link set lo up && $(MUTANTS_ENV) $(GO) test -tags mutants -count=1 -timeout 60m -run "^TestMutants$$" -v ./internal/testkit/mutants'

# Quick loop while developing: no race detector, no installs; what needs
# a browser, a third-party server, root or a namespace lab skips (-short),
# and so do the truth tests and the README's commands; the rest mostly
# waits, so four packages at once.
test-short:
	$(NETNS) sh -c 'ip link set lo up && $(GO) test -count=1 -short -p 4 -parallel 4 ./...'

bench: deps node-deps
	$(NETNS) sh -c 'ip link set lo up && $(GO) test -run '^$$' -bench . -benchtime 2s ./...'

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseServer -fuzztime 30s ./probes
	$(GO) test -run '^$$' -fuzz FuzzParseBindingResponse -fuzztime 30s ./probes
	$(GO) test -run '^$$' -fuzz FuzzTURNServerFrames -fuzztime 30s ./probes
	$(GO) test -run '^$$' -fuzz FuzzFrameReader -fuzztime 30s ./probes
	$(GO) test -run '^$$' -fuzz FuzzHTTPHead -fuzztime 30s ./probes
	$(GO) test -run '^$$' -fuzz FuzzText -fuzztime 30s ./internal/sanitize
	$(GO) test -run '^$$' -fuzz FuzzParseConfig -fuzztime 30s ./checks

clean:
	rm -rf bin dist
