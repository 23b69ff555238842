package remote

import (
	"context"
	"io"
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
