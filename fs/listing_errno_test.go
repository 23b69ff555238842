package fs

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
)

// failingLister is a folder whose listing fails with err.
type failingLister struct{ err error }

func (l failingLister) list(context.Context) (listing, error) { return listing{}, l.err }

// TestFailedListingErrno: a folder that exists never answers READDIR with
// ENOENT (glibc's readdir takes it as the end of the folder, so `ls` would
// show it empty and exit 0); a catalog none of whose configured
// collections exists fails with ENXIO; one with some missing lists the
// others.
func TestFailedListingErrno(t *testing.T) {
	catDir := func(cols ...string) lister {
		cat := catalog.New(&stubSource{}, &stubReader{}, catalog.Options{Name: "t", Collections: cols})
		return catalogDir{New(Options{}), cat, "/"}
	}
	cases := []struct {
		name  string
		l     lister
		want  []string
		errno syscall.Errno
	}{
		{"configured collections", catDir("C"), []string{"C"}, 0},
		{"one configured collection missing", catDir("C", "NOPE"), []string{"C"}, 0},
		{"every configured collection missing", catDir("NOPE", "TYPO"), nil, syscall.ENXIO},
		{"listing not found", failingLister{fmt.Errorf("list collections: %w", &remote.StatusError{Code: 404})}, nil, syscall.EIO},
		{"listing 503", failingLister{&remote.StatusError{Code: 503}}, nil, syscall.EIO},
		{"listing denied", failingLister{remote.ErrDenied}, nil, syscall.EACCES},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &dir{fs: New(Options{}), path: "/", l: c.l}
			ds, errno := d.Readdir(context.Background())
			if errno != c.errno {
				t.Fatalf("readdir: errno %v, want %v", errno, c.errno)
			}
			if errno != 0 {
				return
			}
			var got []string
			for ds.HasNext() {
				e, _ := ds.Next()
				got = append(got, e.Name)
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("listed %q, want %q", got, c.want)
			}
		})
	}
}
