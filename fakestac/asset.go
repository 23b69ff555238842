package fakestac

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// baseModTime is the Last-Modified of every asset until SetAssetContent changes it; each
// change adds one hour, so the demo and the tests stay deterministic.
var baseModTime = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

// asset is what the server knows about the bytes at one path. It is immutable: changes
// replace it.
type asset struct {
	content []byte // nil: ramp bytes
	size    int64
	seed    int
	etag    string // strong, quoted
	mod     time.Time
	typ     string
	gen     int // number of SetAssetContent calls that led here

	noRange, noHEAD, noLength, noETag bool
}

func newAsset(a Asset, gen int, mod time.Time) *asset {
	e := &asset{
		content:  a.Content,
		size:     a.Size,
		seed:     a.Seed,
		mod:      mod,
		typ:      a.Type,
		gen:      gen,
		noRange:  a.NoRange,
		noHEAD:   a.NoHEAD,
		noLength: a.NoLength,
		noETag:   a.NoETag,
	}
	if e.size < 0 {
		e.size = 0
	}
	h := sha256.New()
	if e.content != nil {
		e.size = int64(len(e.content))
		h.Write(e.content)
	} else {
		fmt.Fprintf(h, "ramp %d %d", e.size, e.seed)
	}
	_ = binary.Write(h, binary.BigEndian, int64(gen))
	e.etag = fmt.Sprintf("%q", fmt.Sprintf("%x", h.Sum(nil)[:12]))
	return e
}

func (e *asset) reader() io.ReadSeeker {
	if e.content != nil {
		return bytes.NewReader(e.content)
	}
	return &rampReader{size: e.size, seed: e.seed}
}

// SetAssetContent replaces the bytes served at path (an asset path, or a new path), which
// gives them a new ETag and a Last-Modified one hour later. The asset keeps its other
// settings; items are not changed (their file:size stays as it was: call AddItem again to
// update the catalog too). The slice is kept: do not modify it afterwards.
func (s *Server) SetAssetContent(path string, content []byte) {
	if content == nil {
		content = []byte{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.assets[path]
	if old == nil {
		s.assets[path] = newAsset(Asset{Content: content}, 0, baseModTime)
		return
	}
	s.assets[path] = newAsset(Asset{
		Content:  content,
		Type:     old.typ,
		NoRange:  old.noRange,
		NoHEAD:   old.noHEAD,
		NoLength: old.noLength,
		NoETag:   old.noETag,
	}, old.gen+1, old.mod.Add(time.Hour))
}

// AssetETag returns the ETag header value of the asset at path (quoted), "" when there is
// none or the asset has NoETag.
func (s *Server) AssetETag(path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.assets[path]; e != nil && !e.noETag {
		return e.etag
	}
	return ""
}

func (e *asset) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" not allowed")
		return
	case r.Method == http.MethodHead && e.noHEAD:
		w.Header().Set("Allow", "GET")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if im := r.Header.Get("If-Match"); im != "" && !e.matches(im) {
		w.WriteHeader(http.StatusPreconditionFailed)
		return
	}
	h := w.Header()
	if e.typ != "" {
		h.Set("Content-Type", e.typ)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	if !e.noETag {
		h.Set("ETag", e.etag)
	}
	switch {
	case e.noLength:
		// Like a zip built on the fly: chunked, no length, no ranges.
		h.Set("Last-Modified", e.mod.Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush() // headers out now: no Content-Length can be added any more
		}
		_, _ = io.Copy(w, e.reader())
	case e.noRange:
		h.Set("Last-Modified", e.mod.Format(http.TimeFormat))
		h.Set("Content-Length", strconv.FormatInt(e.size, 10))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		_, _ = io.Copy(w, e.reader())
	default:
		http.ServeContent(w, r, "", e.mod, e.reader())
	}
}

// matches reports whether an If-Match header value matches the asset (strong comparison).
func (e *asset) matches(ifMatch string) bool {
	for _, tag := range strings.Split(ifMatch, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" {
			return true
		}
		if !e.noETag && tag == e.etag {
			return true
		}
	}
	return false
}

// RampBytes returns the n bytes at offset off of a generated asset with the given seed:
// byte((seed + off + i) % 251).
func RampBytes(seed int, off, n int64) []byte {
	p := make([]byte, n)
	fillRamp(p, seed, off)
	return p
}

func fillRamp(p []byte, seed int, off int64) {
	b := ((int64(seed)%251+251)%251 + off%251) % 251
	for i := range p {
		p[i] = byte(b)
		b++
		if b == 251 {
			b = 0
		}
	}
}

// rampReader reads generated ramp bytes without holding them.
type rampReader struct {
	size int64
	seed int
	off  int64
}

func (r *rampReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if rest := r.size - r.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	fillRamp(p, r.seed, r.off)
	r.off += int64(len(p))
	return len(p), nil
}

func (r *rampReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	r.off = offset
	return offset, nil
}
