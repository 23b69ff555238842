// Package cache is an in-memory block cache for ranged reads of remote
// objects.
//
// An object is cut into fixed-size blocks of Options.BlockSize bytes; the
// last block of an object may be shorter. Blocks are cached under
// (Object.Key, block index). Object.Key must identify the object AND its
// version (for example the URL without its query, a NUL byte and the ETag):
// when an object changes, its new version has a new Key, so its blocks never
// mix with blocks of the old version, which simply age out of the LRU.
//
// Cache.ReadAt serves resident blocks from memory and fetches the missing
// ones from Object.Src, merging each run of adjacent missing blocks into a
// single Source.ReadAt call (one contiguous HTTP Range request). A block that
// is being fetched is shared: concurrent readers wanting it wait for the fetch
// in flight instead of issuing their own. Fetches run on a context detached
// from the reader's (context.WithoutCancel, bounded by Options.FetchTimeout),
// so a reader whose context is cancelled returns ctx.Err() at once while the
// fetch carries on for the other waiters and still fills the cache. A failed
// or short fetch is reported to every waiter and caches nothing.
//
// Resident blocks are evicted least recently used first so that the bytes
// held never exceed Options.Memory; bytes are accounted exactly, short last
// blocks included.
package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultMemory       int64         = 512 << 20
	DefaultBlockSize    int           = 128 << 10
	DefaultFetchTimeout time.Duration = 60 * time.Second
)

// Source reads bytes of one object version. Its contract is that of
// remote.Client.ReadAt: it returns n == len(p) and a nil error, or
// n < len(p) and io.EOF when the object ends first, or an error.
type Source interface {
	ReadAt(ctx context.Context, p []byte, off int64) (int, error)
}

// Object is one version of a remote object read through the cache.
type Object struct {
	Key  string // identifies object AND version (e.g. url-without-query + "\x00" + version)
	Size int64  // >= 0 (the cache is only used for objects of known size)
	Src  Source
}

// Options configures a Cache. Zero fields take the package defaults.
type Options struct {
	// Memory is the byte budget for resident blocks (default 512 MiB). It
	// must be at least BlockSize.
	Memory int64
	// BlockSize is the size of a block in bytes (default 128 KiB).
	BlockSize int
	// FetchTimeout bounds one fetch (default 60s). Fetches run on a context
	// detached from the reader's so one cancelled reader never fails others
	// waiting on the same block.
	FetchTimeout time.Duration
	// Logger receives debug records about failed fetches; nil discards them.
	Logger *slog.Logger
}

// Stats are counters of a Cache since New.
type Stats struct {
	Hits         int64 // blocks served resident
	Misses       int64 // blocks not resident when asked for (fetched, or waited for in flight)
	Evictions    int64 // blocks evicted to stay within the byte budget
	Fetches      int64 // Source.ReadAt calls
	FetchedBytes int64 // bytes returned by those calls
	Bytes        int64 // bytes resident now
}

// blockKey names one block of one object version.
type blockKey struct {
	key string
	idx int64
}

// run is one fetch of the adjacent blocks [first, first+nblocks) of one
// object. buf and err are written only by fetchRun before done is closed and
// are read only after done is closed.
type run struct {
	first   int64
	nblocks int64
	off     int64  // byte offset of block first
	buf     []byte // exactly the bytes of the run (short at object end)
	err     error
	done    chan struct{}
}

// block returns the bytes of block idx of the run, given the block size.
func (r *run) block(idx, bs int64) []byte {
	lo := (idx - r.first) * bs
	hi := min(lo+bs, int64(len(r.buf)))
	return r.buf[lo:hi]
}

// slot is one block a read needs: resident data, or a run to wait for.
type slot struct {
	data []byte // resident bytes when r == nil
	r    *run
}

// Cache is a block cache shared by all objects. It is safe for concurrent
// use.
//
// Lock order: mu is a leaf lock. No other lock is taken while it is held, and
// it is never held across a Source.ReadAt call or a channel wait.
type Cache struct {
	// Read only after New.
	blockSize    int64
	memory       int64
	fetchTimeout time.Duration
	log          *slog.Logger

	// mu protects the fields below.
	mu       sync.Mutex
	lru      *simplelru.LRU[blockKey, []byte] // resident blocks; capacity unbounded, evicted by bytes
	inflight map[blockKey]*run                // blocks being fetched
	bytes    int64                            // sum of len of resident blocks
	stats    Stats                            // counters; Bytes is filled in by Stats
}

// New returns an empty Cache configured by o.
func New(o Options) (*Cache, error) {
	if o.Memory == 0 {
		o.Memory = DefaultMemory
	}
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.FetchTimeout == 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.BlockSize < 0:
		return nil, fmt.Errorf("cache: negative block size %d", o.BlockSize)
	case o.Memory < int64(o.BlockSize):
		return nil, fmt.Errorf("cache: memory budget %d is smaller than block size %d", o.Memory, o.BlockSize)
	case o.FetchTimeout < 0:
		return nil, fmt.Errorf("cache: negative fetch timeout %v", o.FetchTimeout)
	}
	l, err := simplelru.NewLRU[blockKey, []byte](math.MaxInt, nil)
	if err != nil {
		return nil, fmt.Errorf("cache: new lru: %w", err)
	}
	return &Cache{
		blockSize:    int64(o.BlockSize),
		memory:       o.Memory,
		fetchTimeout: o.FetchTimeout,
		log:          o.Logger,
		lru:          l,
		inflight:     make(map[blockKey]*run),
	}, nil
}

// BlockSize returns the block size in bytes, so that callers can align
// their reads.
func (c *Cache) BlockSize() int { return int(c.blockSize) }

// ReadAt reads from obj through the cache: computes the blocks that
// [off, off+len(p)) touches, serves cached ones, groups runs of adjacent
// missing blocks into ONE Src.ReadAt each, shares in-flight fetches between
// concurrent callers (8 readers of one block -> 1 request), returns ctx.Err()
// promptly when the caller's ctx is cancelled (the fetch goes on for the
// others and still fills the cache). Returns io.EOF semantics like
// io.ReaderAt at the object end (n < len(p) only at EOF; a read ending
// exactly at the end returns a nil error). A failed fetch is not cached.
//
// On error, n counts the bytes of p filled from off onwards before the first
// block that failed or was not waited for.
func (c *Cache) ReadAt(ctx context.Context, obj Object, p []byte, off int64) (int, error) {
	switch {
	case off < 0:
		return 0, fmt.Errorf("cache: read at negative offset %d", off)
	case obj.Size < 0:
		return 0, fmt.Errorf("cache: read of object with unknown size %d", obj.Size)
	case off >= obj.Size:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	case obj.Src == nil:
		return 0, errors.New("cache: read of object with nil source")
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	end := obj.Size
	if int64(len(p)) < end-off {
		end = off + int64(len(p))
	}
	bs := c.blockSize
	first, last := off/bs, (end-1)/bs
	slots := c.plan(ctx, obj, first, last, true)

	n := 0
	for i, s := range slots {
		idx := first + int64(i)
		data := s.data
		if s.r != nil {
			select {
			case <-s.r.done:
			case <-ctx.Done():
				return n, ctx.Err()
			}
			if s.r.err != nil {
				return n, s.r.err
			}
			data = s.r.block(idx, bs)
		}
		bOff := idx * bs
		if want := min(bs, obj.Size-bOff); int64(len(data)) != want {
			// Only possible when one Key is used with two sizes.
			return n, fmt.Errorf("cache: block %d holds %d bytes, want %d (same key, different size?): %w",
				idx, len(data), want, io.ErrUnexpectedEOF)
		}
		lo := max(off, bOff) - bOff
		hi := min(end, bOff+bs) - bOff
		n += copy(p[n:], data[lo:hi])
	}
	if end-off < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// plan looks up blocks [first, last] of obj. Resident blocks are returned
// as data, blocks in flight as the run to wait for, and each run of adjacent
// missing blocks becomes a new run, registered in flight and fetched by its
// own goroutine (fetchRun) on a context detached from ctx. count says whether
// the lookups count as hits and misses.
//
// plan is the one entry point for starting fetches; a later read-ahead can
// call it for blocks beyond a read and ignore the returned slots.
func (c *Cache) plan(ctx context.Context, obj Object, first, last int64, count bool) []slot {
	slots := make([]slot, last-first+1)
	var started []*run
	var cur *run // the new run being grown, nil when the previous block was not missing

	c.mu.Lock()
	for idx := first; idx <= last; idx++ {
		k := blockKey{obj.Key, idx}
		s := &slots[idx-first]
		if data, ok := c.lru.Get(k); ok {
			s.data = data
			cur = nil
			if count {
				c.stats.Hits++
			}
			continue
		}
		if count {
			c.stats.Misses++
		}
		if r, ok := c.inflight[k]; ok {
			s.r = r
			cur = nil
			continue
		}
		if cur == nil {
			cur = &run{first: idx, off: idx * c.blockSize, done: make(chan struct{})}
			started = append(started, cur)
		}
		cur.nblocks++
		c.inflight[k] = cur
		s.r = cur
	}
	c.mu.Unlock()

	for _, r := range started {
		end := min((r.first+r.nblocks)*c.blockSize, obj.Size)
		r.buf = make([]byte, end-r.off)
		go c.fetchRun(ctx, obj, r)
	}
	return slots
}

// fetchRun fills r from obj.Src on a context detached from the reader's,
// stores the blocks when the fetch succeeded, and wakes the waiters.
func (c *Cache) fetchRun(parent context.Context, obj Object, r *run) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), c.fetchTimeout)
	n, err := c.readSource(ctx, obj.Src, r.buf, r.off)
	cancel()
	if err != nil {
		c.log.Debug("cache fetch failed", "off", r.off, "len", len(r.buf), "err", err)
	}
	r.err = err

	c.mu.Lock()
	c.stats.Fetches++
	c.stats.FetchedBytes += int64(max(n, 0))
	for idx := r.first; idx < r.first+r.nblocks; idx++ {
		k := blockKey{obj.Key, idx}
		if c.inflight[k] == r {
			delete(c.inflight, k)
		}
		if err != nil {
			continue
		}
		data := r.block(idx, c.blockSize)
		if r.nblocks > 1 {
			// Own copy, so evicting one block frees its memory
			// without waiting for the rest of the run.
			data = append([]byte(nil), data...)
		}
		c.add(k, data)
	}
	c.mu.Unlock()
	close(r.done)
}

// readSource calls src.ReadAt and checks its answer: p must be filled
// completely, since the cache never asks beyond the object size.
func (c *Cache) readSource(ctx context.Context, src Source, p []byte, off int64) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("cache source panicked", "off", off, "len", len(p), "panic", v)
			n, err = 0, fmt.Errorf("cache: fetch bytes %d-%d: source panicked: %v", off, off+int64(len(p))-1, v)
		}
	}()
	n, err = src.ReadAt(ctx, p, off)
	switch {
	case n < 0 || n > len(p):
		return 0, fmt.Errorf("cache: fetch bytes %d-%d: source returned invalid count %d", off, off+int64(len(p))-1, n)
	case n == len(p) && (err == nil || errors.Is(err, io.EOF)):
		return n, nil
	case err == nil || errors.Is(err, io.EOF):
		return n, fmt.Errorf("cache: fetch bytes %d-%d: got %d bytes: %w", off, off+int64(len(p))-1, n, io.ErrUnexpectedEOF)
	default:
		return n, fmt.Errorf("cache: fetch bytes %d-%d: %w", off, off+int64(len(p))-1, err)
	}
}

// add makes data resident under k and evicts the least recently used blocks
// until the budget holds. c.mu must be held.
func (c *Cache) add(k blockKey, data []byte) {
	if int64(len(data)) > c.memory {
		return
	}
	if old, ok := c.lru.Peek(k); ok {
		c.lru.Remove(k)
		c.bytes -= int64(len(old))
	}
	c.lru.Add(k, data)
	c.bytes += int64(len(data))
	for c.bytes > c.memory {
		_, old, ok := c.lru.RemoveOldest()
		if !ok {
			break
		}
		c.bytes -= int64(len(old))
		c.stats.Evictions++
	}
}

// Contains reports whether every block of [off, min(off+n, size)) of the
// object version key is resident. An empty range is resident; a negative
// offset is not. It does not change recency or counters.
func (c *Cache) Contains(key string, off, n int64, size int64) bool {
	if off < 0 {
		return false
	}
	end := size
	if n < size-off {
		end = off + n
	}
	if off >= end {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for idx := off / c.blockSize; idx <= (end-1)/c.blockSize; idx++ {
		if !c.lru.Contains(blockKey{key, idx}) {
			return false
		}
	}
	return true
}

// Stats returns a snapshot of the counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Bytes = c.bytes
	return s
}
