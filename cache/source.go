package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	// Shared lets the shared tier (Options.Shared) store and serve the
	// object's bytes: false for data only some may read.
	Shared bool
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
