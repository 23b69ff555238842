package main

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// heapLimit is the soft limit of the Go heap of a mount: its metadata
// (listings: ~2 KB per item cached) and transient buffers (search pages of
// 10-25 MB while a big day loads). The block cache's memory is outside it
// (an mmap arena of cache.memory). Without it the heap grows to twice
// what it holds after each collection (GOGC), and listing two 50 000-item
// days took the mount from 350 to 640 MiB.
const heapLimit = 256 << 20

// setHeapLimit sets heapLimit as the Go runtime's soft memory limit,
// unless GOMEMLIMIT sets one. Soft: past it the collector works harder
// (at most half the CPU), nothing fails.
func setHeapLimit(log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(heapLimit)
	log.Debug("go heap soft limit", "bytes", heapLimit)
}
