package cache

import (
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"time"

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
	// NoReadAhead turns sequential read-ahead off: a Reader fetches what
	// is read (whole tiles with Tiling) and nothing past it. MaxReadAhead
	// and the other ReadAhead fields are then ignored.
	NoReadAhead bool

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

	// Shared is the tier shared by a fleet (Redis), asked for the blocks
	// of objects with Object.Shared set that neither memory nor disk
	// hold, before their Src; nil turns it off. The caller closes it.
	Shared *Shared
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

	// Shared tier (all zero without Options.Shared): units of objects
	// and metadata answers.
	Shared SharedStats
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
	maxWindow    int64 // read-ahead window cap, whole blocks
	firstWindow  int64 // first read-ahead window, whole blocks
	minStreak    int64 // sequential bytes before read-ahead starts
	chunk        int64 // prefetch request size, whole blocks
	parallel     int   // prefetch chunks in flight per Reader
	noReadAhead  bool  // Options.NoReadAhead
	shared       *Shared
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
	tilings  *simplelru.LRU[string, Tiling]  // layouts by object key; nil value: not tiled
	points   *simplelru.LRU[string, int]     // rows read one tile each, in a row, by object key
	windows  *simplelru.LRU[string, learned] // windows read, by tile geometry (tiles_learned.go)
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
	wins, err := simplelru.NewLRU[string, learned](maxShapes, nil)
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
		noReadAhead:  o.NoReadAhead,
		shared:       o.Shared,
		lru:          l,
		inflight:     make(map[blockKey]*run),
		parseTiling:  o.Tiling,
		tilings:      tl,
		points:       pts,
		windows:      wins,
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
	if c.shared != nil {
		s.Shared = c.shared.Stats()
	}
	return s
}
