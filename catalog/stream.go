package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// Streamer opens an object as one stream (GET without Range).
type Streamer interface {
	Open(ctx context.Context, url string) (io.ReadCloser, remote.Info, error)
}

// streamAttempts bounds how often a stream is restarted after a failure.
const streamAttempts = 5

// Stream is an asset served without a length and without Range support
// (ESA's on-the-fly product zip): it is read once, whole, into an unlinked
// spool file, and readers are served from there as the bytes arrive. A
// transfer cut short starts again and skips the bytes already spooled.
type Stream struct {
	// read only after start
	url    string
	cancel context.CancelFunc
	f      *os.File
	onDone func(size int64)
	c      *Catalog
	id     string // the asset's assetID
	limit  int64  // the most a stat's download spools (capped); see StreamSize

	mu      sync.Mutex // protects the following; after Catalog.mu
	cond    *sync.Cond // signalled when n, done or err change
	n       int64      // bytes spooled
	done    bool       // the whole object is spooled
	err     error      // the download failed for good
	refs    int        // open handles
	evicted bool       // dropped from the catalog's streams
	// capped: only stats wait on it (StreamSize): past limit bytes the
	// download stops with ErrTooLarge. A reader lifts the cap.
	capped  bool
	stopped bool // a capped download cancelled when its last stat left
}

// keptStreams is how many streams a catalog keeps, so that a second reader
// of the same asset (or the same reader opening it again) fetches nothing.
const keptStreams = 16

// OpenStream returns the stream of an asset: one already under way or
// spooled (shared), else a new one read whole in the background. The
// caller closes it.
func (c *Catalog) OpenStream(it *Item, a *remote.Asset) (*Stream, error) {
	return c.openStream(it, a, 0)
}

// openStream is OpenStream; a limit above 0 opens it for a stat only
// (capped at limit bytes) unless a reader has it already.
func (c *Catalog) openStream(it *Item, a *remote.Asset, limit int64) (*Stream, error) {
	u, err := c.url(it, a)
	if err != nil {
		return nil, err
	}
	id := assetID(it, a)
	if s := c.keptStream(id, limit <= 0); s != nil {
		return s, nil
	}
	st, ok := c.rd.(Streamer)
	if !ok {
		return nil, fmt.Errorf("%s: %w: cannot stream", remote.RedactURL(u), remote.ErrBadResponse)
	}
	f, err := os.CreateTemp(c.o.StreamDir, "stacfs-stream-*")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	os.Remove(f.Name()) // unlinked: gone when closed, even after a crash
	ctx, cancel := context.WithCancel(context.Background())
	s := &Stream{url: u, cancel: cancel, f: f, refs: 1, c: c, id: id, limit: limit, capped: limit > 0, onDone: func(n int64) {
		c.mu.Lock()
		c.streamed[id] = n
		c.trimLocked()
		c.unlockAndRelease()
	}}
	s.cond = sync.NewCond(&s.mu)
	c.mu.Lock()
	other := c.keptLocked(id, limit <= 0) // opened meanwhile by another reader
	if other == nil {
		c.streams.Add(id, s)
	}
	c.unlockAndRelease()
	if other != nil {
		cancel()
		f.Close()
		return other, nil
	}
	go s.run(ctx, st, c)
	return s, nil
}

// keptStream returns the kept stream of an asset with one more hold, or
// nil. A reader (uncap) lifts the cap of a stream opened for a stat.
func (c *Catalog) keptStream(id string, uncap bool) *Stream {
	c.mu.Lock()
	s := c.keptLocked(id, uncap)
	c.unlockAndRelease()
	return s
}

// keptLocked is keptStream under c.mu. A stream that failed is dropped.
func (c *Catalog) keptLocked(id string, uncap bool) *Stream {
	s, ok := c.streams.Get(id)
	if !ok {
		return nil
	}
	s.mu.Lock()
	failed := s.err != nil || s.stopped
	if !failed {
		s.refs++
		if uncap {
			s.capped = false
		}
	}
	s.mu.Unlock()
	if failed {
		c.streams.Remove(id)
		return nil
	}
	return s
}

// unlockAndRelease unlocks c.mu, then releases the streams the LRU dropped
// meanwhile (which may close their spool: not under c.mu).
func (c *Catalog) unlockAndRelease() {
	dropped := c.dropped
	c.dropped = nil
	c.mu.Unlock()
	for _, s := range dropped {
		s.evict()
	}
}

func (s *Stream) run(ctx context.Context, st Streamer, c *Catalog) {
	var err error
attempts:
	for attempt := range streamAttempts {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			case <-ctx.Done():
				break attempts
			}
			c.log.Warn("stream cut short; starting again", "url", remote.RedactURL(s.url), "attempt", attempt+1, "err", err)
		}
		if err = s.fetch(ctx, st); err == nil {
			s.finish(nil)
			return
		}
		if ctx.Err() != nil || errors.Is(err, remote.ErrNotFound) || errors.Is(err, remote.ErrDenied) || errors.Is(err, ErrTooLarge) {
			break
		}
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	if errors.Is(err, ErrTooLarge) {
		c.tooLarge(s.id, s.url, s.limit)
	}
	s.finish(err)
	c.forget(s)
}

// forget drops a failed stream from the catalog's streams at once, so that
// its spool is freed when its last holder closes it.
func (c *Catalog) forget(s *Stream) {
	c.mu.Lock()
	if cur, ok := c.streams.Peek(s.id); ok && cur == s {
		c.streams.Remove(s.id)
	}
	c.unlockAndRelease()
}

// fetch reads the object from the start, appending what goes beyond the
// bytes already spooled.
func (s *Stream) fetch(ctx context.Context, st Streamer) error {
	body, _, err := st.Open(ctx, s.url)
	if err != nil {
		return err
	}
	defer body.Close()
	s.mu.Lock()
	have := s.n
	s.mu.Unlock()
	if _, err := io.CopyN(io.Discard, body, have); err != nil {
		return fmt.Errorf("stream %s: %w", remote.RedactURL(s.url), io.ErrUnexpectedEOF)
	}
	buf := make([]byte, 256<<10)
	for {
		k, rerr := body.Read(buf)
		if k > 0 {
			if _, werr := s.f.WriteAt(buf[:k], have); werr != nil {
				return fmt.Errorf("spool: %w", werr)
			}
			have += int64(k)
			s.mu.Lock()
			s.n = have
			over := s.capped && have > s.limit
			s.cond.Broadcast()
			s.mu.Unlock()
			if over {
				return fmt.Errorf("stream %s: %w (%d bytes)", remote.RedactURL(s.url), ErrTooLarge, s.limit)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("stream %s: %w", remote.RedactURL(s.url), rerr)
		}
	}
}

// finish ends the download: the size is recorded (onDone) before any
// reader is woken, so that one that saw the end and stats the file at once
// gets the real size, not 0.
func (s *Stream) finish(err error) {
	if err == nil && s.onDone != nil {
		s.mu.Lock()
		n := s.n
		s.mu.Unlock()
		s.onDone(n) // takes the catalog's lock: not under s.mu (OpenStream takes them the other way round)
	}
	s.mu.Lock()
	if err == nil {
		s.done = true
	} else {
		s.err = err
	}
	s.cond.Broadcast()
	s.mu.Unlock()
}

// wakeOnDone wakes the stream's waiters when ctx ends, so that one waiting
// for ctx sees it; the caller calls the returned stop.
func (s *Stream) wakeOnDone(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
}

// ReadAt waits until the bytes at [off, off+len(p)) are spooled (or the
// object ends) and copies them; io.EOF at the end as io.ReaderAt.
func (s *Stream) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	defer s.wakeOnDone(ctx)()
	s.mu.Lock()
	for !s.done && s.err == nil && s.n < off+int64(len(p)) && ctx.Err() == nil {
		s.cond.Wait()
	}
	n, done, err := s.n, s.done, s.err
	s.mu.Unlock()
	if n < off+int64(len(p)) && !done {
		if err == nil {
			err = ctx.Err()
		}
		return 0, err
	}
	if off >= n {
		return 0, io.EOF
	}
	k, rerr := s.f.ReadAt(p[:min(int64(len(p)), n-off)], off)
	if rerr == nil && k < len(p) {
		rerr = io.EOF
	}
	return k, rerr
}

// Done reports whether the whole object is spooled.
func (s *Stream) Done() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Size returns the bytes spooled so far: the object's size once Done.
func (s *Stream) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Close releases the caller's hold. The spool is dropped when the catalog
// no longer keeps the stream and nobody holds it; a download nobody waits
// for goes on only while the catalog keeps it.
//
// A download for stats only (capped) that nobody waits for any more (an
// interrupted stat) stops: nobody asked for its bytes.
func (s *Stream) Close() error {
	s.mu.Lock()
	s.refs--
	drop := s.refs <= 0 && s.evicted
	abandoned := s.refs <= 0 && s.capped && !s.done && s.err == nil
	s.stopped = s.stopped || abandoned
	idle := s.refs <= 0 && !s.evicted
	s.mu.Unlock()
	if abandoned {
		s.cancel() // run ends with the context's error and forgets it
	}
	if idle && !abandoned && s.c != nil {
		s.c.trimSpools() // one more spool nobody holds: keep within the budget
	}
	if drop {
		s.cancel()
		return s.f.Close()
	}
	return nil
}

// evict is called when the catalog stops keeping the stream.
func (s *Stream) evict() {
	s.mu.Lock()
	s.evicted = true
	drop := s.refs <= 0
	s.mu.Unlock()
	if drop {
		s.cancel()
		s.f.Close()
	}
}
