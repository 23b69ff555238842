# stacfs: make run mounts the built-in demo catalog; make test runs every test.
GO      ?= go
BIN     := bin/stacfs
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build run test deps vet unit clean fuzz bench test-gis cross install

# Where make install puts things: $(DESTDIR)$(PREFIX)/bin/stacfs and so on.
PREFIX  ?= /usr/local
DESTDIR ?=

# Platforms make test cross-compiles stacfs for (a build, not a run).
CROSS   := darwin/arm64 darwin/amd64 linux/arm64

# Fuzz targets (package:target), each run for FUZZTIME by make fuzz.
FUZZ     := remote:FuzzParseItem remote:FuzzNextLink remote:FuzzScope remote:FuzzContentRange catalog:FuzzLayout catalog:FuzzSanitize cog:FuzzParse zipindex:FuzzRead zarrstore:FuzzOpen
FUZZTIME ?= 30s

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/stacfs

# Mount the built-in demo catalog on ./mnt (no network, no account needed).
run: build
	@mkdir -p mnt
	./$(BIN) demo mnt

# Install what the tests need (fuse3, GDAL), then run every test: unit tests
# and real kernel mounts with real clients, under the race detector.
test: deps vet cross
	./scripts/failure-summary.sh $(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=3s

# QGIS as a real client (heavy to install: not part of make test): loads a
# mounted COG headless and renders it like the local file.
test-gis: deps
	./scripts/install-deps.sh --gis
	$(GO) test -tags gis -count=1 -run TestQGIS -v ./tests

# Run every fuzz target for FUZZTIME (the STAC parsers, name sanitising, the
# credential-scope decision, the TIFF layout reader); new crashers land in testdata/fuzz.
fuzz:
	@set -e; for f in $(FUZZ); do \
	  pkg=$${f%%:*}; name=$${f#*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test ./$$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

deps:
	./scripts/install-deps.sh

# Cross-compile the command for each of CROSS (macOS needs macFUSE to run it).
cross:
	@set -e; for p in $(CROSS); do \
	  echo "cross-compile stacfs for $$p"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/stacfs; \
	done

# Install the binary (on root's PATH with the default PREFIX, as the fstab
# helper form needs), the systemd unit (Type=notify) with the binary's
# path, and the help of every command. DESTDIR stages it for a package.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/doc/stacfs
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/stacfs
	sed 's|/usr/local/bin/stacfs|$(PREFIX)/bin/stacfs|g' docs/stacfs.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/stacfs.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/stacfs.service
	install -m 0644 README.md config.toml.example docs/semantics.md $(DESTDIR)$(PREFIX)/share/doc/stacfs/
	./$(BIN) --help > $(DESTDIR)$(PREFIX)/share/doc/stacfs/stacfs.txt
	@set -e; for c in mount demo check prefetch token refresh version; do \
	  ./$(BIN) $$c --help > $(DESTDIR)$(PREFIX)/share/doc/stacfs/stacfs-$$c.txt 2>&1; \
	done
	@echo "installed $(DESTDIR)$(PREFIX)/bin/stacfs; help in $(PREFIX)/share/doc/stacfs; unit $(PREFIX)/lib/systemd/system/stacfs.service"

vet:
	$(GO) vet ./...
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed: $$fmt"; exit 1; fi

# Benchmark stacfs against GDAL /vsicurl/, curl and rclone on a large COG behind a
# shaped link, and write docs/performance.md (root: FUSE). Quick smoke test:
# make bench BENCH_ARGS=-quick
BENCH_ARGS ?=
bench: deps build
	./bench/install.sh
	$(GO) run ./bench -stacfs $(BIN) $(BENCH_ARGS)

clean:
	rm -rf bin
