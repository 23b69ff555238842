package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"unsafe"
)

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
