package fs

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// stubSource is a STAC API in memory: one collection "C" whose items all
// fall on 2024-02-29. It counts searches and item fetches.
type stubSource struct {
	mu       sync.Mutex
	items    []remote.Item
	searches int
	// gate, when set, is called before each page of a listing (0, 1...):
	// it may wait (a slow page) or fail it. probeGate is the same for the
	// searches that probe a date (limit 1). Both are set under mu.
	gate      func(page int) error
	probeGate func() error
}

func (s *stubSource) Collections(context.Context) ([]remote.Collection, error) {
	return []remote.Collection{{ID: "C"}}, nil
}

func (s *stubSource) Collection(_ context.Context, id string) (remote.Collection, error) {
	if id != "C" {
		return remote.Collection{}, remote.ErrNotFound
	}
	return remote.Collection{ID: "C"}, nil
}

func (s *stubSource) Item(_ context.Context, col, id string) (remote.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.items {
		if it.ID == id {
			return it, nil
		}
	}
	return remote.Item{}, remote.ErrNotFound
}

func (s *stubSource) Search(_ context.Context, q remote.Search, fn func(*remote.Page) bool) error {
	s.mu.Lock()
	s.searches++
	items := append([]remote.Item(nil), s.items...)
	gate, probeGate := s.gate, s.probeGate
	s.mu.Unlock()
	if q.Limit == 1 { // a probe: the day holds items
		if probeGate != nil {
			if err := probeGate(); err != nil {
				return err
			}
		}
		fn(&remote.Page{Items: items[:min(1, len(items))], NumberMatched: int64(len(items))})
		return nil
	}
	for i := 0; i < len(items) || i == 0; i += q.Limit {
		if gate != nil {
			if err := gate(i / q.Limit); err != nil {
				return err
			}
		}
		if !fn(&remote.Page{Items: items[i:min(i+q.Limit, len(items))], NumberMatched: -1}) {
			break
		}
	}
	return nil
}

func (s *stubSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.searches
}

// stubItem is an item of the stub day with assets of the given sizes
// (-1: the item does not tell), served by a stubReader at the asset's key.
func stubItem(id string, sizes map[string]int64) remote.Item {
	it := remote.Item{ID: id, Collection: "C", Time: time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC),
		Raw: []byte(fmt.Sprintf(`{"type":"Feature","id":%q}`, id))}
	for k, n := range sizes {
		it.Assets = append(it.Assets, remote.Asset{Key: k, Href: "https://store.example/" + id + "/" + k, Size: n})
	}
	return it
}

// stubReader serves objects by the last path segment of their URL, with
// a version (ETag) that a test may change. It counts requests.
type stubReader struct {
	mu       sync.Mutex
	objects  map[string][]byte
	etag     string
	noLength map[string]bool // served as a stream: no length, no Range
	requests int
}

func (r *stubReader) object(url string) ([]byte, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	b, ok := r.objects[url[strings.LastIndex(url, "/")+1:]]
	if !ok {
		return nil, "", remote.ErrNotFound
	}
	return b, r.etag, nil
}

func (r *stubReader) ReadHead(_ context.Context, url string, n int) ([]byte, remote.Info, error) {
	b, etag, err := r.object(url)
	if err != nil {
		return nil, remote.Info{}, err
	}
	if r.streamed(url) {
		return nil, remote.Info{Size: -1}, nil
	}
	return b[:min(n, len(b))], remote.Info{Size: int64(len(b)), ETag: etag, Ranges: true}, nil
}

func (r *stubReader) ReadAt(_ context.Context, url string, p []byte, off int64, etag string) (int, error) {
	b, cur, err := r.object(url)
	if err != nil {
		return 0, err
	}
	if etag != "" && etag != cur {
		return 0, remote.ErrChanged
	}
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (r *stubReader) streamed(url string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.noLength[url[strings.LastIndex(url, "/")+1:]]
}

// Open implements catalog.Streamer.
func (r *stubReader) Open(_ context.Context, url string) (io.ReadCloser, remote.Info, error) {
	b, _, err := r.object(url)
	if err != nil {
		return nil, remote.Info{}, err
	}
	return io.NopCloser(strings.NewReader(string(b))), remote.Info{Size: -1}, nil
}

func (r *stubReader) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}
