# stacfs: make run mounts the built-in demo catalog; make test runs every test.
GO      ?= go
BIN     := bin/stacfs
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build run test deps vet unit clean fuzz bench test-gis

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
test: deps vet
	$(GO) test -race -count=1 -timeout 20m ./...
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
