package cache

import (
	"context"
	"crypto/sha256"
	"os"
	"sync"
	"time"
)

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
		ctx = context.WithValue(ctx, blockFetchKey{}, true)
		src := obj.Src
		if c.shared != nil && obj.Shared {
			src = c.shared.source(obj)
		}
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

// blockFetchKey marks the context of a block fetch, so that the shared
// tier's Transport leaves it alone (blocks are shared by unit).
type blockFetchKey struct{}
