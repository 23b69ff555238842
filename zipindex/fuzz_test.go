package zipindex

import (
	"archive/zip"
	"context"
	"testing"
)

// FuzzRead: any bytes list without panicking, and every member listed
// has a header offset inside the archive.
func FuzzRead(f *testing.F) {
	f.Add(build(f, []entry{{"a/b.txt", zip.Deflate, []byte("hello hello hello")}, {"c/", zip.Store, nil}}))
	f.Add(build(f, []entry{{"x", zip.Store, []byte{1, 2, 3}}}))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a := &memArchive{b: b}
		ix, err := Read(context.Background(), a, int64(len(b)))
		if err != nil {
			return
		}
		for _, m := range ix.Members {
			if m.header < 0 || m.header >= int64(len(b)) {
				t.Fatalf("member %q: header offset %d outside %d bytes", m.Name, m.header, len(b))
			}
			if m.Readable() == nil && m.Method == zip.Deflate && m.Size < 1<<20 {
				if z, err := m.OpenDeflated(context.Background(), a); err == nil {
					p := make([]byte, m.Size)
					_, _ = z.ReadAt(context.Background(), p, 0)
				}
			}
		}
	})
}
