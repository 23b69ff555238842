// Package cache is a block cache for ranged reads of remote objects: an
// in-memory LRU, an optional persistent disk tier below it, and read-ahead
// per open file handle above it.
//
// # Blocks and keys
//
// An object is cut into fixed-size blocks of Options.BlockSize bytes; the
// last block of an object may be shorter. Blocks are cached under
// (Object.Key, block index). Object.Key must identify the object AND its
// version (for example the URL without its query, a NUL byte and the ETag):
// when an object changes, its new version has a new Key, so its blocks never
// mix with blocks of the old version, which simply age out of the LRU.
//
// # Fetching
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
// held never exceed Options.Memory. The blocks of one fetch share its buffer
// (no copy). In the arena (below) each block counts on its own and its pages
// go back to the kernel when it is evicted; a heap buffer counts whole
// against the budget while any of its blocks is resident, and a heap fetch
// larger than an eighth of the budget is cut into blocks of their own
// instead. Either way memory is accounted exactly. Prime stores
// bytes a caller already has (the head of a file read for size discovery) as
// if they had been fetched.
//
// # Memory
//
// On Linux, block memory lives in an arena of memfd files mapped into the
// process (arena_linux.go), outside the Go heap: a fetch writes the bytes
// through the file (Options.HeapMemory turns this off). A read pins the
// memory of the blocks it uses, so that an eviction meanwhile never gives
// memory back under a reader; the memory goes back to the kernel once the
// last block of its buffer is evicted and the last pin is dropped. A buffer
// the arena cannot place (larger than a segment, or the arena full of
// pinned segments) comes from the Go heap.
//
// # Read-ahead
//
// A Reader (Cache.NewReader, one per open file handle) reads like
// Cache.ReadAt and plans from the pattern of its reads (see Reader): a
// sequential reader gets a read-ahead window that doubles up to
// Options.MaxReadAhead (default 64 MiB, never more than a quarter of
// Options.Memory), fetched as chunks of Options.ReadAheadChunk (default
// 4 MiB), at most Options.ReadAheadParallel (default 16) in flight; a reader
// of a tiled TIFF (Options.Tiling) gets whole tiles and predicted rows of
// tiles. Prefetches go through the same in-flight table as foreground reads
// (a read needing a block being prefetched waits for that fetch), run
// detached from every reader's context and stop at the object end.
// Prefetched blocks live in the same LRU and budget as the others. A block
// that a streaming Reader reads keeps the recency it got when it was
// fetched (it is not read again): the blocks streams have consumed go
// before the prefetched blocks other streams have yet to read. Heap buffers
// of 2 MiB and more are backed by transparent huge pages where the kernel
// allows it (madvise), which makes filling them much cheaper.
//
// # Disk tier
//
// With Options.DiskDir set, every block fetched from the network (or primed,
// or evicted from memory before it reached the disk) is queued to be written
// to a file of its own under DiskDir, and a block missing from memory is read
// from its file before the network is asked. Writes are asynchronous, done
// by one goroutine from a bounded queue; a block that finds the queue full is
// not written (it is offered again when evicted from memory). Reads are
// synchronous (the reader waits for them, like for a fetch).
//
// A block file is DiskDir/hh/hh/<sha256(Key)>-<index>.blk, hh being the first
// hex digits of the hash. It holds a header (magic, key hash, block index,
// block size, payload length), the payload, and a footer (CRC-32C of the
// payload, magic). It is written to a temporary file in the same folder and
// renamed, so readers see whole files only; a file left torn by a crash, cut
// short or altered fails the checks when read, and is then deleted and the
// block fetched again: it is never served. Files are not fsynced.
//
// The disk index (size and recency of every file) is held in memory and
// rebuilt by New from a scan of DiskDir, ordered by file modification time
// (a hit refreshes it, at most once a minute); leftover temporary files are
// removed. Files are evicted least recently used first to keep within
// Options.DiskBytes (which counts whole files, headers included; a write may
// exceed it by one file until its evictions are done). A LOCK file in DiskDir
// is held with flock(2) from New until Close, so two caches never share a
// directory. Cache.Close drains the write queue.
package cache

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultMemory            int64         = 512 << 20
	DefaultBlockSize         int           = 16 << 10
	DefaultFetchTimeout      time.Duration = 60 * time.Second
	DefaultMaxReadAhead      int64         = 64 << 20
	DefaultReadAheadChunk    int64         = 4 << 20
	DefaultReadAheadStart    int64         = 8 << 20
	DefaultReadAheadFirst    int64         = 16 << 20
	DefaultReadAheadParallel int           = 16
	DefaultDiskBytes         int64         = 10 << 30 // when DiskDir is set
)

// Source reads bytes of one object version. Its contract is that of
// remote.Client.ReadAt: it returns n == len(p) and a nil error, or
// n < len(p) and io.EOF when the object ends first, or an error.
type Source interface {
	ReadAt(ctx context.Context, p []byte, off int64) (int, error)
}

// ProgressSource is a Source that can tell, while a ReadAt runs, how many
// bytes at the start of p are final (they will not change and the read
// will not be failed for them): readers of the first blocks of a long fetch
// then get them before the fetch ends.
type ProgressSource interface {
	Source
	ReadAtProgress(ctx context.Context, p []byte, off int64, progress func(n int)) (int, error)
}

// progressSource is a ProgressSource seen as a Source reporting to one
// callback.
type progressSource struct {
	src      ProgressSource
	progress func(int)
}

func (p progressSource) ReadAt(ctx context.Context, b []byte, off int64) (int, error) {
	return p.src.ReadAtProgress(ctx, b, off, p.progress)
}

// CopySource is a ProgressSource that can be told how to put the bytes it
// reads into p: with put(dst, src), which copies src into dst, a part of p
// (the cache's arena memory is written through its file). It must put
// every byte of p it reports, in order, and no other.
type CopySource interface {
	ProgressSource
	ReadAtCopy(ctx context.Context, p []byte, off int64, progress func(n int), put func(dst, src []byte) error) (int, error)
}

// copySource is a CopySource seen as a Source reporting to one callback and
// putting with one function.
type copySource struct {
	src      CopySource
	progress func(int)
	put      func(dst, src []byte) error
}

func (c copySource) ReadAt(ctx context.Context, b []byte, off int64) (int, error) {
	return c.src.ReadAtCopy(ctx, b, off, c.progress, c.put)
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
	// BlockSize is the size of a block in bytes (default 16 KiB).
	BlockSize int
	// FetchTimeout bounds one fetch (default 60s). Fetches run on a context
	// detached from the reader's so one cancelled reader never fails others
	// waiting on the same block.
	FetchTimeout time.Duration
	// Logger receives debug records about failed fetches; nil discards them.
	Logger *slog.Logger

	// MaxReadAhead is the largest read-ahead window of a Reader (default
	// 64 MiB). The window is also capped at Memory/4. Rounded down to
	// whole blocks, at least one.
	MaxReadAhead int64
	// ReadAheadChunk is the size of one prefetch request (default 4 MiB),
	// rounded up to whole blocks.
	ReadAheadChunk int64
	// ReadAheadParallel is the number of prefetch chunks one Reader may
	// have in flight (default 16).
	ReadAheadParallel int
	// ReadAheadStart is how many bytes a Reader must read sequentially
	// before read-ahead starts (default 8 MiB): a COG reader reading a row
	// of adjacent tiles must not pull megabytes it will not use. A streak
	// from the first byte of the object without a gap (a copy) starts
	// read-ahead after 256 KiB.
	ReadAheadStart int64
	// ReadAheadFirst is the first read-ahead window (default 16 MiB); it
	// doubles while the reader keeps up, to MaxReadAhead.
	ReadAheadFirst int64

	// Tiling, when set, reads the tile layout of an object (a tiled TIFF)
	// from its bytes. It is given a ReaderAt over the resident blocks only
	// (any other byte fails with an error the cache recognises, and the
	// cache asks again after more was read). With a layout, Readers fetch
	// whole tiles and predict rows of tiles (see Reader). An error other
	// than a missing byte means "not tiled", and is remembered.
	Tiling func(r io.ReaderAt, size int64) (Tiling, error)

	// HeapMemory keeps blocks in the Go heap. By default (on Linux) they
	// are kept in an arena of memfd files outside it (see arena_linux.go):
	// filled through the file, which is much cheaper than first touching
	// fresh memory on VMs, and given back to the kernel exactly when the
	// last block of a buffer goes. The arena costs one more copy of every
	// fetched byte.
	HeapMemory bool

	// DiskDir is the folder of the persistent disk tier; "" turns it off.
	// It is created when missing.
	DiskDir string
	// DiskBytes is the byte budget of the block files in DiskDir (default
	// 10 GiB). It must hold at least one block file.
	DiskBytes int64
}

// Stats are counters of a Cache since New.
type Stats struct {
	Hits         int64 // blocks served resident
	Misses       int64 // blocks not resident when asked for (fetched, or waited for in flight)
	Evictions    int64 // blocks evicted to stay within the byte budget
	Fetches      int64 // Source.ReadAt calls
	FetchedBytes int64 // bytes returned by those calls
	Bytes        int64 // bytes resident now

	// Disk tier (all zero without DiskDir). DiskHits + DiskMisses is the
	// number of blocks loaded into memory (foreground or prefetch).
	DiskHits      int64 // blocks loaded from their block file
	DiskMisses    int64 // blocks loaded from Src instead (no file, or an unusable one)
	DiskWrites    int64 // block files written
	DiskEvictions int64 // block files removed to stay within DiskBytes
	DiskBytes     int64 // bytes of block files on disk now
	InFlight      int64 // blocks being fetched now
}

// blockKey names one block of one object version.
type blockKey struct {
	key string
	idx int64
}

// run is one fetch of the adjacent blocks [first, first+nblocks) of one
// object, from Src, or (when disk is set, always one block) from its block
// file with Src as the fallback. buf and err are written only by fetchRun;
// err is read only after done is closed, and the bytes of buf only after
// done is closed or once filled covers them (a ProgressSource tells).
type run struct {
	first   int64
	nblocks int64
	off     int64   // byte offset of block first
	disk    bool    // try the block file first
	buf     []byte  // exactly the bytes of the run (short at object end)
	mem     *buffer // the memory of buf, pinned by the fetch until it ends
	err     error
	done    chan struct{}

	mu      sync.Mutex
	filled  int      // bytes at the start of buf that are final
	waiters []waiter // readers waiting for more of buf
}

// waiter is a reader waiting until the first need bytes of a run are final.
type waiter struct {
	need int
	ch   chan struct{}
}

// advance records that the first n bytes of the run's buffer are final and
// wakes the readers waiting for them.
func (r *run) advance(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n <= r.filled {
		return
	}
	r.filled = n
	kept := r.waiters[:0]
	for _, w := range r.waiters {
		if w.need <= n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	r.waiters = kept
}

// ready returns nil when the first need bytes of the run's buffer are
// final, or a channel closed once they are (or never, if the fetch ends
// first: wait on done as well).
func (r *run) ready(need int) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if need <= r.filled {
		return nil
	}
	ch := make(chan struct{})
	r.waiters = append(r.waiters, waiter{need, ch})
	return ch
}

// has reports whether the first need bytes of the run's buffer are final.
func (r *run) has(need int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return need <= r.filled
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
	pin  *buffer // the memory of data or r, pinned for the read (see Cache.unpin)
}

// Cache is a block cache shared by all objects. It is safe for concurrent
// use.
//
// Lock order: Reader.mu before Cache.mu before an arena file's lock. Cache.mu
// is never held across a Source.ReadAt call, disk I/O or a channel wait
// (sends to the disk queue never block); the only syscalls under it give
// arena memory back (holes punched in a memfd, which take no I/O).
type Cache struct {
	// Read only after New.
	blockSize    int64
	memory       int64
	fetchTimeout time.Duration
	log          *slog.Logger
	maxWindow    int64  // read-ahead window cap, whole blocks
	firstWindow  int64  // first read-ahead window, whole blocks
	minStreak    int64  // sequential bytes before read-ahead starts
	chunk        int64  // prefetch request size, whole blocks
	parallel     int    // prefetch chunks in flight per Reader
	disk         *disk  // nil without DiskDir
	arena        *arena // nil: blocks in the Go heap
	parseTiling  func(io.ReaderAt, int64) (Tiling, error)

	// mu protects the fields below, and the index of disk.
	mu       sync.Mutex
	lru      *simplelru.LRU[blockKey, entry] // resident blocks; capacity unbounded, evicted by bytes
	inflight map[blockKey]*run               // blocks being fetched
	bytes    int64                           // bytes of the buffers holding resident blocks
	stats    Stats                           // counters; Bytes and DiskBytes are filled in by Stats
	sumKey   string                          // the key whose hash is sum (memo for evictions)
	sum      [sha256.Size]byte
	tilings  *simplelru.LRU[string, Tiling] // layouts by object key; nil value: not tiled
	points   *simplelru.LRU[string, int]    // rows read one tile each, in a row, by object key
	// pointRows counts the last rows of tiles, of any object, that were
	// read one tile each, in a row (sampling across scenes).
	pointRows int
}

// New returns an empty Cache configured by o. With o.DiskDir set, it opens
// (or creates) the disk tier and indexes the block files already there;
// Close must then be called to flush pending writes and release DiskDir.
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
	if o.MaxReadAhead == 0 {
		o.MaxReadAhead = DefaultMaxReadAhead
	}
	if o.ReadAheadChunk == 0 {
		o.ReadAheadChunk = DefaultReadAheadChunk
	}
	if o.ReadAheadStart == 0 {
		o.ReadAheadStart = DefaultReadAheadStart
	}
	if o.ReadAheadFirst == 0 {
		o.ReadAheadFirst = DefaultReadAheadFirst
	}
	if o.ReadAheadParallel == 0 {
		o.ReadAheadParallel = DefaultReadAheadParallel
	}
	if o.DiskBytes == 0 {
		o.DiskBytes = DefaultDiskBytes
	}
	switch {
	case o.BlockSize < 0:
		return nil, fmt.Errorf("cache: negative block size %d", o.BlockSize)
	case o.Memory < int64(o.BlockSize):
		return nil, fmt.Errorf("cache: memory budget %d is smaller than block size %d", o.Memory, o.BlockSize)
	case o.FetchTimeout < 0:
		return nil, fmt.Errorf("cache: negative fetch timeout %v", o.FetchTimeout)
	case o.MaxReadAhead < 0:
		return nil, fmt.Errorf("cache: negative read-ahead %d", o.MaxReadAhead)
	case o.ReadAheadChunk < 0:
		return nil, fmt.Errorf("cache: negative read-ahead chunk %d", o.ReadAheadChunk)
	case o.ReadAheadParallel < 0:
		return nil, fmt.Errorf("cache: negative read-ahead parallelism %d", o.ReadAheadParallel)
	case o.DiskBytes < 0:
		return nil, fmt.Errorf("cache: negative disk budget %d", o.DiskBytes)
	case o.DiskDir != "" && o.DiskBytes < fileSize(int64(o.BlockSize)):
		return nil, fmt.Errorf("cache: disk budget %d is smaller than one block file (%d)", o.DiskBytes, fileSize(int64(o.BlockSize)))
	}
	l, err := simplelru.NewLRU[blockKey, entry](math.MaxInt, nil)
	if err != nil {
		return nil, fmt.Errorf("cache: new lru: %w", err)
	}
	tl, err := simplelru.NewLRU[string, Tiling](maxTilings, nil)
	if err != nil {
		return nil, fmt.Errorf("cache: new lru: %w", err)
	}
	pts, err := simplelru.NewLRU[string, int](maxTilings, nil)
	if err != nil {
		return nil, fmt.Errorf("cache: new lru: %w", err)
	}
	bs := int64(o.BlockSize)
	maxWindow := max(bs, min(o.MaxReadAhead, o.Memory/4)/bs*bs)
	c := &Cache{
		blockSize:    bs,
		memory:       o.Memory,
		fetchTimeout: o.FetchTimeout,
		log:          o.Logger,
		maxWindow:    maxWindow,
		firstWindow:  min(maxWindow, max(bs, o.ReadAheadFirst/bs*bs)),
		minStreak:    o.ReadAheadStart,
		chunk:        max(bs, (o.ReadAheadChunk+bs-1)/bs*bs),
		parallel:     o.ReadAheadParallel,
		lru:          l,
		inflight:     make(map[blockKey]*run),
		parseTiling:  o.Tiling,
		tilings:      tl,
		points:       pts,
	}
	if !o.HeapMemory {
		a, err := newArena(o.Memory)
		if err != nil {
			c.log.Debug("cache memory in the Go heap", "err", err)
		} else {
			c.arena = a
			// The mapping goes with the Cache: memory of it is only
			// used through the Cache (views hold it through their
			// release function).
			runtime.AddCleanup(c, func(a *arena) { a.close() }, a)
		}
	}
	if o.DiskDir != "" {
		d, evicted, err := openDisk(o.DiskDir, o.DiskBytes, bs, o.Logger)
		if err != nil {
			return nil, err
		}
		c.disk = d
		c.stats.DiskEvictions = evicted
		go c.diskWriter()
	}
	return c, nil
}

// Close flushes the queued disk writes, stops the disk tier and releases
// DiskDir. Afterwards the Cache still serves reads, from memory and Src
// only. Without a disk tier Close does nothing. It is safe to call twice.
func (c *Cache) Close() error {
	d := c.disk
	if d == nil {
		return nil
	}
	c.mu.Lock()
	if d.closed {
		c.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.queue) // no send after closed is set: sends happen under mu
	c.mu.Unlock()
	<-d.done
	return d.unlock()
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
	return c.read(ctx, obj, p, off, foreground, 0, nil)
}

// read is ReadAt, looking blocks up in mode (foreground or streaming). The
// missing blocks up to fetchEnd (when it lies past the read) are fetched with
// the read's own, in the same requests: the read extended to whole tiles.
// When after is not nil, it is called once the fetches this read needs are
// started and before they are waited for (read-ahead hooks in there).
func (c *Cache) read(ctx context.Context, obj Object, p []byte, off int64, mode planMode, fetchEnd int64, after func()) (int, error) {
	_, n, _, err := c.readView(ctx, obj, p, off, mode, fetchEnd, after, false)
	return n, err
}

// noRelease is the release function of a read that holds nothing.
func noRelease() {}

// readView is read. With view set, when the bytes read lie in one buffer
// of the cache, it returns them as a slice of that buffer (which must not
// be written) instead of copying them into p, and the memory stays pinned
// until release is called; else it returns p[:n]. release is never nil and
// must be called once the returned bytes are no longer used.
func (c *Cache) readView(ctx context.Context, obj Object, p []byte, off int64, mode planMode, fetchEnd int64, after func(), view bool) (out []byte, n int, release func(), err error) {
	switch {
	case off < 0:
		return nil, 0, noRelease, fmt.Errorf("cache: read at negative offset %d", off)
	case obj.Size < 0:
		return nil, 0, noRelease, fmt.Errorf("cache: read of object with unknown size %d", obj.Size)
	case off >= obj.Size:
		return nil, 0, noRelease, io.EOF
	case len(p) == 0:
		return nil, 0, noRelease, nil
	case obj.Src == nil:
		return nil, 0, noRelease, errors.New("cache: read of object with nil source")
	}
	// A cancelled ctx still plans the read: its fetches start and what is
	// resident is served. A page fault interrupted by a signal is retried
	// by the kernel with the same read, and must find it further along
	// each time, or a process that gets signals all the time (the Go
	// runtime preempting) never gets its page.
	end := obj.Size
	if int64(len(p)) < end-off {
		end = off + int64(len(p))
	}
	bs := c.blockSize
	first, last := off/bs, (end-1)/bs
	fetchLast := last
	if fetchEnd > end {
		fetchLast = (min(fetchEnd, obj.Size) - 1) / bs
	}
	all := c.plan(ctx, obj, first, fetchLast, mode, last)
	slots := all[:last-first+1]
	released := false
	release = func() {
		if !released {
			released = true
			c.unpin(all)
		}
	}
	defer func() {
		if out == nil || len(p) == 0 || unsafe.SliceData(out) == unsafe.SliceData(p) {
			release() // nothing of the cache's memory is handed out
			release = noRelease
		}
	}()
	if after != nil {
		after()
	}

	var v []byte // the bytes so far, as a slice of one cache buffer
	for i, s := range slots {
		idx := first + int64(i)
		data := s.data
		if s.r != nil {
			// Wait for this block's bytes, not for the whole run.
			need := int(min((idx+1)*bs, obj.Size) - s.r.off)
			if ch := s.r.ready(need); ch != nil {
				select {
				case <-ch:
				case <-s.r.done:
				case <-ctx.Done():
					if !s.r.has(need) { // the bytes first, when both came
						return nil, n, release, ctx.Err()
					}
				}
			}
			if !s.r.has(need) {
				// Woken by the end of the fetch (ready's channel only
				// closes once the bytes are there): it failed.
				<-s.r.done
				if s.r.err != nil {
					return nil, n, release, s.r.err
				}
			}
			data = s.r.block(idx, bs)
		}
		bOff := idx * bs
		if want := min(bs, obj.Size-bOff); int64(len(data)) != want {
			// Only possible when one Key is used with two sizes.
			return nil, n, release, fmt.Errorf("cache: block %d holds %d bytes, want %d (same key, different size?): %w",
				idx, len(data), want, io.ErrUnexpectedEOF)
		}
		lo := max(off, bOff) - bOff
		hi := min(end, bOff+bs) - bOff
		piece := data[lo:hi]
		switch {
		case view && i == 0:
			v = piece
		case v != nil && follows(v, piece):
			v = v[:len(v)+len(piece)]
		default:
			if v != nil { // not one buffer after all: copy what was viewed
				copy(p, v)
				v = nil
			}
			copy(p[n:], piece)
		}
		n += len(piece)
	}
	out = p[:n]
	if v != nil {
		out = v
	}
	if end-off < int64(len(p)) {
		return out, n, release, io.EOF
	}
	return out, n, release, nil
}

// follows reports whether b starts where a ends in the same array, so that
// a can be extended over b.
func follows(a, b []byte) bool {
	if len(b) == 0 || cap(a)-len(a) < len(b) {
		return false
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(a)))+uintptr(len(a)) == uintptr(unsafe.Pointer(unsafe.SliceData(b)))
}

// planMode says how plan treats the blocks it looks up.
type planMode int

const (
	// foreground is a read: it counts hits and misses, and resident blocks
	// become the most recently used.
	foreground planMode = iota
	// streaming is a read of a sequential stream: it counts, but leaves
	// the recency of resident blocks alone. They were prefetched for this
	// read and are not read again (the kernel keeps its copy), so they
	// age from the time they were fetched and go before the unread
	// prefetched blocks of other streams.
	streaming
	// prefetching is read-ahead: no counts; resident blocks become the
	// most recently used, as they will be read soon.
	prefetching
)

// plan looks up blocks [first, last] of obj. Resident blocks are returned
// as data, blocks in flight as the run to wait for, and each run of adjacent
// missing blocks becomes a new run, registered in flight and fetched by its
// own goroutine (fetchRun) on a context detached from ctx. A missing block
// that has a block file gets a run of its own, read from disk.
//
// Every slot pins the memory of its block (its buffer, or its run's), so
// that the block's bytes stay valid while the caller reads them even if the
// block is evicted meanwhile; the caller must call c.unpin(slots) when done.
//
// plan is the one entry point for starting fetches; read-ahead calls it for
// blocks beyond a read and waits for the runs of the returned slots. Hits
// and misses are counted up to block countLast (the blocks past it are
// fetched for later reads).
func (c *Cache) plan(ctx context.Context, obj Object, first, last int64, mode planMode, countLast int64) []slot {
	slots := make([]slot, last-first+1)
	var started []*run
	var cur *run // the new run being grown, nil when the previous block was not missing
	var sum [sha256.Size]byte
	if c.disk != nil {
		sum = sha256.Sum256([]byte(obj.Key))
	}

	c.mu.Lock()
	disk := c.disk != nil && !c.disk.closed
	counting := mode != prefetching
	get := c.lru.Get
	if mode == streaming {
		get = c.lru.Peek
	}
	for idx := first; idx <= last; idx++ {
		k := blockKey{obj.Key, idx}
		s := &slots[idx-first]
		count := counting && idx <= countLast
		if e, ok := get(k); ok {
			s.data = e.data
			s.pin = e.buf
			e.buf.pins++
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
			s.r, s.pin = r, r.mem
			r.mem.pins++
			cur = nil
			continue
		}
		if disk && c.disk.idx.Contains(diskKey{sum, idx}) {
			r := &run{first: idx, nblocks: 1, off: idx * c.blockSize, disk: true, done: make(chan struct{}),
				mem: &buffer{pins: 2}} // the fetch's pin and this slot's
			started = append(started, r)
			c.inflight[k] = r
			s.r, s.pin = r, r.mem
			cur = nil
			continue
		}
		if cur == nil {
			cur = &run{first: idx, off: idx * c.blockSize, done: make(chan struct{}), mem: &buffer{pins: 1}}
			started = append(started, cur)
		}
		cur.nblocks++
		cur.mem.pins++
		c.inflight[k] = cur
		s.r, s.pin = cur, cur.mem
	}
	c.mu.Unlock()

	for _, r := range started {
		end := min((r.first+r.nblocks)*c.blockSize, obj.Size)
		c.allocRun(r, end-r.off)
		go c.fetchRun(ctx, obj, r, sum)
	}
	return slots
}

// allocRun gives run r its n bytes of memory: arena memory when there is an
// arena (block files are read into heap memory: the arena is written
// through its files only), else heap memory backed by huge pages where it
// is large. Nobody reads r.mem's extent before the fetch unpins it.
func (c *Cache) allocRun(r *run, n int64) {
	r.mem.size = n
	if c.arena != nil && !r.disk {
		if b, e, ok := c.arena.alloc(n); ok {
			r.buf, r.mem.ext = b, e
			r.mem.perBlock = c.blockSize%pageSize == 0 // blocks on whole pages
			return
		}
	}
	r.buf = make([]byte, n)
	adviseHuge(r.buf)
}

// unpin drops the pins a read took on the memory of its slots (see plan),
// giving back memory that no block and no read holds any more.
func (c *Cache) unpin(slots []slot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range slots {
		if s.pin != nil {
			s.pin.pins--
			c.maybeFree(s.pin)
		}
	}
}

// maybeFree gives the arena memory of b back once no pin holds it: all of
// it when no block is resident either, else the pages of its evicted
// blocks. c.mu must be held (the only syscalls made under it: holes punched
// in a memfd, no disk I/O).
func (c *Cache) maybeFree(b *buffer) {
	if b.pins > 0 || !b.ext.ok() {
		return
	}
	if b.refs == 0 {
		c.arena.free(b.ext)
		b.ext, b.gone = extent{}, nil
		return
	}
	for _, d := range b.gone {
		c.arena.punch(d)
	}
	b.gone = b.gone[:0]
}

// fetchRun fills r from its block file or from obj.Src on a context
// detached from the reader's, stores the blocks when that succeeded, queues
// blocks that came from Src for the disk, and wakes the waiters. sum is the
// hash of obj.Key when the disk tier is on.
func (c *Cache) fetchRun(parent context.Context, obj Object, r *run, sum [sha256.Size]byte) {
	fromDisk := false
	if r.disk {
		dk := diskKey{sum, r.first}
		mtime, err := c.disk.read(dk, r.buf)
		if err == nil {
			fromDisk = true
			if now := time.Now(); now.Sub(mtime) > touchAfter {
				// Best effort: recency that survives a restart.
				_ = os.Chtimes(c.disk.path(dk), time.Time{}, now)
			}
		} else {
			c.log.Debug("cache block file unusable, fetching the block", "block", r.first, "err", err)
			c.dropDiskFile(dk)
		}
	}
	var n int
	var err error
	if !fromDisk {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), c.fetchTimeout)
		src := obj.Src
		if cs, ok := src.(CopySource); ok && r.mem.ext.ok() {
			src = copySource{cs, r.advance, c.arena.put}
		} else if ps, ok := src.(ProgressSource); ok {
			src = progressSource{ps, r.advance}
		}
		n, err = c.readSource(ctx, src, r.buf, r.off)
		cancel()
		if err != nil {
			c.log.Debug("cache fetch failed", "off", r.off, "len", len(r.buf), "err", err)
		}
	}
	r.err = err

	c.mu.Lock()
	diskOn := c.disk != nil && !c.disk.closed
	switch {
	case fromDisk:
		c.stats.DiskHits++
		c.disk.idx.Get(diskKey{sum, r.first}) // most recently used
	default:
		c.stats.Fetches++
		c.stats.FetchedBytes += int64(max(n, 0))
		if diskOn {
			c.stats.DiskMisses += r.nblocks
		}
	}
	toDisk := diskOn && !fromDisk
	// The blocks share the run's buffer (no copy). Arena memory is
	// charged and given back block by block; heap memory is charged while
	// any of its blocks is resident, so a heap run large against the
	// budget is cut into blocks of their own that one hot block never
	// holds it.
	var shared *buffer
	if err == nil && (r.mem.perBlock || int64(len(r.buf)) <= c.memory/8) {
		shared = r.mem
	}
	for idx := r.first; idx < r.first+r.nblocks; idx++ {
		k := blockKey{obj.Key, idx}
		if c.inflight[k] == r {
			delete(c.inflight, k)
		}
		if err != nil {
			continue
		}
		data := r.block(idx, c.blockSize)
		buf := shared
		if buf == nil {
			data = append([]byte(nil), data...)
			buf = &buffer{size: int64(len(data))}
		}
		c.add(k, data, buf)
		if toDisk {
			c.queueDisk(diskKey{sum, idx}, data)
		}
	}
	r.mem.pins-- // the fetch's own
	c.maybeFree(r.mem)
	c.mu.Unlock()
	if err == nil {
		r.advance(len(r.buf))
	}
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

// entry is a resident block: its bytes and the buffer holding them.
type entry struct {
	data []byte
	buf  *buffer
}

// buffer is memory holding resident blocks (the blocks of one fetch share
// it). Heap memory counts against the budget while any of its blocks is
// resident. Arena memory (perBlock) counts block by block, and the pages
// of an evicted block are given back as soon as no read pins the buffer.
type buffer struct {
	size     int64
	refs     int      // resident blocks in it
	pins     int      // reads (and the fetch filling it) using its bytes now
	ext      extent   // its arena memory, given back when refs and pins are 0
	perBlock bool     // arena memory of whole pages per block: charged and given back by block
	gone     [][]byte // perBlock: evicted blocks whose pages wait for the last pin
}

// add makes data, held in buf, resident under k and evicts the least
// recently used blocks until the budget holds. An evicted block that has no
// block file (its write was dropped) is offered to the disk queue again.
// c.mu must be held.
func (c *Cache) add(k blockKey, data []byte, buf *buffer) {
	if !buf.perBlock && buf.size > c.memory {
		return
	}
	if old, ok := c.lru.Peek(k); ok {
		c.lru.Remove(k)
		c.release(old)
	}
	c.lru.Add(k, entry{data, buf})
	switch {
	case buf.perBlock:
		c.bytes += int64(len(data))
	case buf.refs == 0:
		c.bytes += buf.size
	}
	buf.refs++
	for c.bytes > c.memory {
		ek, old, ok := c.lru.RemoveOldest()
		if !ok {
			break
		}
		if c.disk != nil { // before release: that may give old's memory back
			c.queueDisk(diskKey{c.keySum(ek.key), ek.idx}, old.data)
		}
		c.release(old)
		c.stats.Evictions++
	}
}

// release drops a block that left the LRU from its buffer, which stops
// counting when its last block goes (heap) or with the block (arena).
// c.mu must be held.
func (c *Cache) release(e entry) {
	b := e.buf
	b.refs--
	switch {
	case b.perBlock:
		c.bytes -= int64(len(e.data))
		b.gone = append(b.gone, e.data)
	case b.refs == 0:
		c.bytes -= b.size
	}
	c.maybeFree(b)
}

// keySum returns sha256(key), remembering the last one: evictions come in
// runs of blocks of one object. c.mu must be held.
func (c *Cache) keySum(key string) [sha256.Size]byte {
	if key != c.sumKey || key == "" {
		c.sumKey, c.sum = key, sha256.Sum256([]byte(key))
	}
	return c.sum
}

// Prime stores the complete blocks within data, which holds the bytes of
// obj from offset off, as if they had been fetched (and queues them for the
// disk tier), so that a caller that already read part of an object (its
// head, for size discovery) does not have it fetched again. A block is
// complete when data covers all of it; the short last block of the object
// counts. Partial blocks at either end of data are ignored. data is copied.
func (c *Cache) Prime(obj Object, off int64, data []byte) {
	if off < 0 || obj.Size < 0 || off >= obj.Size {
		return
	}
	bs := c.blockSize
	end := min(off+int64(len(data)), obj.Size)
	type primed struct {
		idx  int64
		data []byte
	}
	var blocks []primed
	for idx := (off + bs - 1) / bs; idx*bs < end; idx++ {
		bOff := idx * bs
		bEnd := min(bOff+bs, obj.Size)
		if bEnd > end {
			break
		}
		blocks = append(blocks, primed{idx, append([]byte(nil), data[bOff-off:bEnd-off]...)})
	}
	if len(blocks) == 0 {
		return
	}
	var sum [sha256.Size]byte
	if c.disk != nil {
		sum = sha256.Sum256([]byte(obj.Key))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range blocks {
		c.add(blockKey{obj.Key, b.idx}, b.data, &buffer{size: int64(len(b.data))})
		if c.disk != nil {
			c.queueDisk(diskKey{sum, b.idx}, b.data)
		}
	}
}

// Contains reports whether every block of [off, min(off+n, size)) of the
// object version key is resident in memory (the disk tier is not asked). An empty range is resident; a negative
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

// maxTilings is how many object layouts the cache remembers.
const maxTilings = 1024

// errNotResident is what the resident reader given to Options.Tiling fails
// with for a byte that is not in memory.
var errNotResident = errors.New("cache: bytes not resident")

// tilingOf returns obj's tile layout: remembered, or read now from its
// resident blocks. It is nil when the object is not tiled, or when the bytes
// that would tell are not resident yet (then the next call tries again).
func (c *Cache) tilingOf(obj Object) Tiling {
	if c.parseTiling == nil {
		return nil
	}
	c.mu.Lock()
	t, ok := c.tilings.Get(obj.Key)
	c.mu.Unlock()
	if ok {
		return t
	}
	t, err := c.parseTiling(residentReader{c, obj}, obj.Size)
	if errors.Is(err, errNotResident) {
		return nil
	}
	if err != nil {
		c.log.Debug("no tile layout", "err", err)
		t = nil
	}
	c.mu.Lock()
	c.tilings.Add(obj.Key, t)
	c.mu.Unlock()
	return t
}

// pointReads returns how many rows of tiles of the object, in a row, were
// read one tile each, and how many rows of any object were, in a row.
func (c *Cache) pointReads(key string) (object, all int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, _ := c.points.Get(key)
	return n, c.pointRows
}

// notePointRead records how a row of tiles of the object that was not
// predicted ended: with one tile read (single) or more.
func (c *Cache) notePointRead(key string, single bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !single {
		c.points.Remove(key)
		c.pointRows = 0
		return
	}
	n, _ := c.points.Get(key)
	c.points.Add(key, n+1)
	c.pointRows = min(c.pointRows+1, 1<<20)
}

// residentReader reads the resident blocks of an object, and fails with
// errNotResident for any other byte. It changes no recency or counter.
type residentReader struct {
	c   *Cache
	obj Object
}

// ReadAt implements io.ReaderAt.
func (r residentReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > r.obj.Size {
		return 0, fmt.Errorf("cache: read %d bytes at %d of a %d-byte object: %w", len(p), off, r.obj.Size, io.ErrUnexpectedEOF)
	}
	c := r.c
	bs := c.blockSize
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for n < len(p) {
		at := off + int64(n)
		e, ok := c.lru.Peek(blockKey{r.obj.Key, at / bs})
		if !ok {
			return n, errNotResident
		}
		data := e.data
		lo := at % bs
		if lo >= int64(len(data)) {
			return n, errNotResident
		}
		n += copy(p[n:], data[lo:])
	}
	return n, nil
}

// Stats returns a snapshot of the counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Bytes = c.bytes
	s.InFlight = int64(len(c.inflight))
	if c.disk != nil {
		s.DiskBytes = c.disk.bytes
	}
	return s
}
