package remote

import (
	"context"
	"io"
	"sync"
)

// progressKey is the context key of a progress callback.
type progressKey struct{}

// WithProgress returns a context under which Client.ReadAt reports, as the
// body arrives, how many bytes at the start of its p are final: received
// from a checked answer (status, Content-Range, ETag) and never written
// again. fn is called on the reading goroutine, with growing values; it
// must be quick. A reader waiting for the first part of a long range can
// use those bytes before the range ends.
func WithProgress(ctx context.Context, fn func(n int)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// progressOf returns the progress callback of ctx, or nil.
func progressOf(ctx context.Context) func(int) {
	fn, _ := ctx.Value(progressKey{}).(func(int))
	return fn
}

// copyKey is the context key of a put function.
type copyKey struct{}

// WithCopy returns a context under which Client.ReadAt reads the body
// through a buffer of its own and puts each piece into p with put(dst, src)
// (dst is the part of p the bytes of src belong to, len(dst) == len(src)),
// instead of reading into p directly. For memory that is cheaper to write
// another way than through its address, such as a cache's memory in a
// memfd file (pwrite). Every byte of p is put at most once, in order; an
// error from put fails the read.
func WithCopy(ctx context.Context, put func(dst, src []byte) error) context.Context {
	return context.WithValue(ctx, copyKey{}, put)
}

// bodyReader returns body as ReadAt reads it: through the put function of
// ctx when it has one.
func bodyReader(ctx context.Context, body io.Reader) io.Reader {
	put, _ := ctx.Value(copyKey{}).(func(dst, src []byte) error)
	if put == nil {
		return body
	}
	return &putReader{r: body, put: put}
}

// scratchPool holds the buffers putReaders read through: reused, so that
// their memory is not touched for the first time on every read.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// putReader reads from r into a scratch buffer and puts the bytes into the
// caller's p with put, so that after Read(p) returns n, p[:n] holds them.
type putReader struct {
	r   io.Reader
	put func(dst, src []byte) error
}

func (pr *putReader) Read(p []byte) (int, error) {
	sp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(sp)
	buf := *sp
	n, err := pr.r.Read(buf[:min(len(buf), len(p))])
	if n > 0 {
		if perr := pr.put(p[:n], buf[:n]); perr != nil {
			return 0, perr
		}
	}
	return n, err
}

// readFullProgress is io.ReadFull that calls progress(bytes read so far)
// after every read that got bytes (progress may be nil).
func readFullProgress(r io.Reader, p []byte, progress func(int)) (int, error) {
	if progress == nil {
		return io.ReadFull(r, p)
	}
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if m > 0 {
			progress(n)
		}
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			if n == len(p) {
				return n, nil
			}
			return n, err
		}
	}
	return n, nil
}
