# stacfs: make run mounts the built-in demo catalog; make test runs every test.
GO      ?= go
BIN     := bin/stacfs
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build run test deps vet unit clean

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

deps:
	./scripts/install-deps.sh

vet:
	$(GO) vet ./...
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed: $$fmt"; exit 1; fi

clean:
	rm -rf bin
