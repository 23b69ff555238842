package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// ErrTooLarge means a stream (an asset without length or Range) is longer
// than Options.StreamStatLimit: its size is not learnt on stat.
var ErrTooLarge = errors.New("stream longer than stream_stat_limit")

// DefaultStreamStatLimit is the default Options.StreamStatLimit: the most
// bytes of a stream downloaded to learn its size on stat.
const DefaultStreamStatLimit = 1 << 30

// StreamSize returns the size of an asset known neither from the item nor
// from the server (a stream: no length, no Range), learning it the only
// way there is: by downloading the stream whole into a spool, which the
// read that usually follows a stat (tar, unzip, cp) then reads without a
// request. Concurrent calls, and readers, share one download.
//
// A stream longer than Options.StreamStatLimit fails with ErrTooLarge
// (logged once at ERROR, remembered for the TTL): never a short size. A
// stream a reader is reading anyway is waited for whatever its length.
// With no limit (0) nothing is downloaded and the size is -1 until a
// reader has read the stream whole.
func (c *Catalog) StreamSize(ctx context.Context, it *Item, a *remote.Asset) (int64, error) {
	if n, ok := c.knownSize(it, a); ok && n >= 0 {
		return n, nil
	}
	limit := c.o.StreamStatLimit
	if limit <= 0 {
		return -1, nil
	}
	id := assetID(it, a)
	s := c.keptStream(id, false)
	if s == nil {
		if err := c.tooLargeErr(id); err != nil {
			return -1, err
		}
		var err error
		if s, err = c.openStream(it, a, limit); err != nil {
			return -1, err
		}
	}
	defer s.Close()
	return s.wait(ctx)
}

// wait waits until the whole stream is spooled and returns its size.
func (s *Stream) wait(ctx context.Context) (int64, error) {
	defer s.wakeOnDone(ctx)()
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.done && s.err == nil && ctx.Err() == nil {
		s.cond.Wait()
	}
	switch {
	case s.done:
		return s.n, nil
	case s.err != nil:
		return -1, s.err
	default:
		return -1, ctx.Err()
	}
}

// tooLarge remembers, for the TTL, that the stream of asset id is longer
// than limit, and says so at ERROR: a stat of it fails until then.
func (c *Catalog) tooLarge(id, url string, limit int64) {
	c.mu.Lock()
	if c.big == nil {
		c.big = map[string]bigStream{}
	}
	c.big[id] = bigStream{at: c.o.Now(), limit: limit}
	c.mu.Unlock()
	c.log.Error("stream longer than stream_stat_limit: its size cannot be shown, stat fails with EFBIG; "+
		"raise [cache] stream_stat_limit, or read the file whole once (stacfs prefetch FILE)",
		"url", remote.RedactURL(url), "stream_stat_limit", limit)
}

// bigStream is a stream found longer than the limit.
type bigStream struct {
	at    time.Time
	limit int64
}

// tooLargeErr returns ErrTooLarge when the stream of asset id was found
// longer than the limit within the TTL.
func (c *Catalog) tooLargeErr(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.big[id]
	if !ok {
		return nil
	}
	if c.o.Now().Sub(b.at) >= c.o.TTL {
		delete(c.big, id)
		return nil
	}
	return fmt.Errorf("%w (%d bytes): found %s", ErrTooLarge, b.limit, b.at.Format(time.RFC3339))
}

// DefaultStreamKeepBytes is the least Options.StreamKeepBytes defaults to.
const DefaultStreamKeepBytes = 2 << 30

// keepBytes is the most the spools of kept streams that nobody holds may
// take: Options.StreamKeepBytes, else twice the stat limit, at least
// DefaultStreamKeepBytes.
func (c *Catalog) keepBytes() int64 {
	if c.o.StreamKeepBytes > 0 {
		return c.o.StreamKeepBytes
	}
	return max(2*c.o.StreamStatLimit, DefaultStreamKeepBytes)
}

// trimSpools is trimLocked under c.mu.
func (c *Catalog) trimSpools() {
	c.mu.Lock()
	c.trimLocked()
	c.unlockAndRelease()
}

// trimLocked drops the oldest kept streams that nobody holds while the
// spools of all kept streams take more than keepBytes: a du or ls -l over
// many folders must not fill the disk (or, in a RAM-backed $TMPDIR,
// memory) with kept streams. A dropped stream's size stays known.
func (c *Catalog) trimLocked() {
	type kept struct {
		id   string
		n    int64
		held bool
	}
	var all []kept
	var total int64
	for _, id := range c.streams.Keys() { // oldest first
		s, _ := c.streams.Peek(id)
		if !s.mu.TryLock() {
			// In use this instant: not dropped, and nothing under
			// c.mu waits for a stream (see TestStreamEvictedOutsideLock).
			continue
		}
		all = append(all, kept{id, s.n, s.refs > 0})
		total += s.n
		s.mu.Unlock()
	}
	for _, k := range all {
		if total <= c.keepBytes() {
			return
		}
		if !k.held {
			c.streams.Remove(k.id)
			total -= k.n
		}
	}
}
