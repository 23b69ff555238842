package remote

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// genSigner signs with ?sig=<generation>; Refused moves to the next generation.
type genSigner struct {
	mu      sync.Mutex
	gen     int
	refused int
}

func (s *genSigner) Sign(_ context.Context, href string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return href + "?sig=" + strconv.Itoa(s.gen), nil
}

func (s *genSigner) Refused(_, signed string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasSuffix(signed, "sig="+strconv.Itoa(s.gen)) {
		s.gen++
		s.refused++
	}
}

// TestSignedReaderResigns: a signature refused in the middle of a ReadAt (the server
// caps each answer at 1000 bytes, and the first signature works for one answer only) is
// replaced once, and the read goes on from the bytes already received, with progress
// counted from the start of p.
func TestSignedReaderResigns(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	var mu sync.Mutex
	uses := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig := r.URL.Query().Get("sig")
		mu.Lock()
		uses[r.URL.Path+sig]++
		n := uses[r.URL.Path+sig]
		mu.Unlock()
		if sig == "" || (sig == "0" && n > 1) || r.URL.Path == "/none" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		var a, b int
		fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b)
		b = min(b, a+999, len(data)-1)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, len(data)))
		w.Header().Set("Content-Length", strconv.Itoa(b-a+1))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(data[a : b+1])
	}))
	defer srv.Close()
	s := &genSigner{}
	rd := &SignedReader{Client: &Client{}, Signer: s}
	var seen []int
	ctx := WithProgress(context.Background(), func(n int) { seen = append(seen, n) })
	p := make([]byte, 3500)
	n, err := rd.ReadAt(ctx, srv.URL+"/obj", p, 100, "")
	if err != nil || n != len(p) || !bytes.Equal(p, data[100:100+len(p)]) {
		t.Fatalf("ReadAt = %d, %v; bytes equal %v", n, err, bytes.Equal(p, data[100:100+len(p)]))
	}
	if s.refused != 1 {
		t.Errorf("%d refusals, want 1", s.refused)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Fatalf("progress went back: %v", seen)
		}
	}
	if len(seen) == 0 || seen[len(seen)-1] != len(p) {
		t.Errorf("progress ended at %v, want %d", seen, len(p))
	}
	// A second refusal in the same read is not retried again: the error comes back.
	s2 := &genSigner{}
	rd2 := &SignedReader{Client: &Client{}, Signer: s2}
	_, err = rd2.ReadAt(context.Background(), srv.URL+"/none", p, 0, "")
	if err == nil || s2.refused != 1 || strings.Contains(err.Error(), "sig=") {
		t.Errorf("after two refusals: %v (refusals %d), want one retry and an error without the signature", err, s2.refused)
	}
}
