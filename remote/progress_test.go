package remote

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// TestReadAtProgress: under WithProgress, ReadAt reports the bytes of p
// that are final while the body arrives, in growing values ending at
// len(p), and the bytes they cover are already right when reported.
func TestReadAtProgress(t *testing.T) {
	obj := ramp(1<<20, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Send the range in slow pieces, so there is progress to see.
		rw := &slowWriter{w: w, piece: 64 << 10, pause: time.Millisecond}
		http.ServeContent(rw, r, "", objModTime, bytes.NewReader(obj))
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client()}
	p := make([]byte, 512<<10)
	const off = 1000
	var seen []int
	ctx := WithProgress(context.Background(), func(n int) {
		if !bytes.Equal(p[:n], obj[off:off+n]) {
			t.Errorf("progress %d: bytes not final", n)
		}
		seen = append(seen, n)
	})
	if _, err := c.ReadAt(ctx, srv.URL, p, off, ""); err != nil {
		t.Fatal(err)
	}
	if len(seen) < 2 || seen[len(seen)-1] != len(p) {
		t.Fatalf("progress %v, want several values ending at %d", seen, len(p))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("progress %v does not grow", seen)
		}
	}
}

// slowWriter writes in pieces with a pause after each, flushing them.
type slowWriter struct {
	w     http.ResponseWriter
	piece int
	pause time.Duration
}

func (s *slowWriter) Header() http.Header  { return s.w.Header() }
func (s *slowWriter) WriteHeader(code int) { s.w.WriteHeader(code) }
func (s *slowWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := s.w.Write(p[n:min(len(p), n+s.piece)])
		n += k
		if err != nil {
			return n, err
		}
		s.w.(http.Flusher).Flush()
		time.Sleep(s.pause)
	}
	return n, nil
}

// TestReadAtCopy: under WithCopy, ReadAt puts every byte of p exactly once,
// in order, with the put function (also across a body cut short and
// resumed), never writing p itself; an error from put fails the read.
func TestReadAtCopy(t *testing.T) {
	obj := ramp(1<<20, 5)
	var cut atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cut.CompareAndSwap(false, true) { // the first answer stops half way
			w.Header().Set("Content-Range", "bytes 1000-525287/1048576")
			w.Header().Set("Content-Length", "524288")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(obj[1000 : 1000+200<<10])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		http.ServeContent(w, r, "", objModTime, bytes.NewReader(obj))
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client()}
	p := make([]byte, 512<<10)
	const off = 1000
	next := 0 // the offset in p the next put must start at
	put := func(dst, src []byte) error {
		at := int(uintptr(unsafe.Pointer(unsafe.SliceData(dst))) - uintptr(unsafe.Pointer(unsafe.SliceData(p))))
		if at != next || len(dst) != len(src) {
			t.Errorf("put %d bytes at %d (dst %d), want at %d", len(src), at, len(dst), next)
		}
		if dst[0] != 0 {
			t.Errorf("put at %d: p was written before the put", at)
		}
		next = at + len(src)
		copy(dst, src)
		return nil
	}
	n, err := c.ReadAt(WithCopy(context.Background(), put), srv.URL, p, off, "")
	if err != nil || n != len(p) || next != len(p) {
		t.Fatalf("ReadAt: %d bytes, err %v, put up to %d", n, err, next)
	}
	if !bytes.Equal(p, obj[off:off+len(p)]) {
		t.Error("wrong bytes")
	}
	if !cut.Load() {
		t.Error("the body was never cut")
	}

	boom := errors.New("boom")
	_, err = c.ReadAt(WithCopy(context.Background(), func(dst, src []byte) error { return boom }), srv.URL, make([]byte, 1000), 0, "")
	if !errors.Is(err, boom) {
		t.Errorf("put failing: err %v, want it wrapped", err)
	}
}
