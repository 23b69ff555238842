package remote

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
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
