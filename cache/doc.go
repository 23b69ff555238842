// Package cache is a block cache for ranged reads of remote objects: an
// in-memory LRU, an optional persistent disk tier below it, and read-ahead
// per open file handle above it.
//
// An object is cut into blocks of Options.BlockSize bytes, cached under
// (Object.Key, block index). Object.Key names the object AND its version
// (URL without query, NUL, ETag), so a changed object never mixes blocks
// with its old version, which just ages out.
//
// Files by job: cache.go (Options, New, Close, Stats), source.go (what the
// cache reads from), inflight.go (the run table: each run of adjacent
// missing blocks becomes one Source.ReadAt, shared by every reader that
// needs one of its blocks, fetched detached from the reader's context and
// bounded by Options.FetchTimeout), read.go (the read path, zero-copy
// views), memory.go (buffers, the byte budget, LRU eviction, Prime,
// Contains), arena_linux.go (block memory in memfd files outside the Go
// heap), disk.go (the disk tier), reader.go (sequential read-ahead of one
// handle), tiles.go (whole-tile planning of tiled TIFFs) and
// tiles_learned.go (windows learned across objects of one tile geometry:
// the same window read from many scenes).
//
// A failed or short fetch is reported to every waiter and caches nothing.
// Memory is accounted exactly: the bytes held never exceed Options.Memory.
// A read pins the memory of the blocks it uses, so an eviction meanwhile
// never frees memory under a reader.
package cache
