package catalog

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// Doc is a JSON document of the tree (item.json) as the API returned it:
// held in memory, or in the spool of the listing that brought it.
type Doc struct {
	data []byte // in memory; nil when spooled
	sp   *spool
	off  int64
	n    int64
}

// MemDoc is a document held in memory.
func MemDoc(b []byte) *Doc { return &Doc{data: b, n: int64(len(b))} }

// Size is the document's length in bytes.
func (d *Doc) Size() int64 { return d.n }

// ReadAt reads the document's bytes at off, as io.ReaderAt.
func (d *Doc) ReadAt(p []byte, off int64) (int, error) {
	if off >= d.n {
		return 0, io.EOF
	}
	want := min(int64(len(p)), d.n-off)
	if d.sp == nil {
		n := copy(p[:want], d.data[off:])
		if int64(n) < int64(len(p)) {
			return n, io.EOF
		}
		return n, nil
	}
	n, err := d.sp.f.ReadAt(p[:want], d.off+off)
	if err == nil && int64(n) < int64(len(p)) {
		err = io.EOF
	}
	if err != nil && err != io.EOF {
		err = fmt.Errorf("item spool: %w", err)
	}
	return n, err
}

// Bytes returns the whole document.
func (d *Doc) Bytes() ([]byte, error) {
	if d.sp == nil {
		return d.data, nil
	}
	b := make([]byte, d.n)
	if _, err := d.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

// spool holds the JSON of the items of one day listing in an unlinked
// temporary file, so that a listed item keeps in memory only what the tree
// needs (real items are 10-25 KB of JSON, most of it properties and links
// the tree does not use). The file is written while the listing loads and
// only read afterwards; it is closed by the os.File finalizer once no item
// of that listing is reachable (gone with the listing, or its replacement
// after the TTL).
type spool struct {
	f *os.File

	mu sync.Mutex // protects n (the load appends; readers do not touch it)
	n  int64
}

// newSpool creates a spool in dir (the system's temporary folder when "").
func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "stacfs-items-*")
	if err != nil {
		return nil, fmt.Errorf("item spool: %w", err)
	}
	os.Remove(f.Name()) // unlinked: gone when closed, even after a crash
	return &spool{f: f}, nil
}

// add appends b and returns it as a Doc.
func (s *spool) add(b []byte) (*Doc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.WriteAt(b, s.n); err != nil {
		return nil, fmt.Errorf("item spool: %w", err)
	}
	d := &Doc{sp: s, off: s.n, n: int64(len(b))}
	s.n += int64(len(b))
	return d, nil
}
