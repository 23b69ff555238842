package fs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/catalog"
)

// TestMountedPending: a catalog still trying to start is a folder whose
// listing and lookups fail with EAGAIN; once it starts, the same folder
// (the inode the kernel already has) lists its collections; one that gives
// up fails with EACCES.
func TestMountedPending(t *testing.T) {
	late := NewPending("late", time.Now().Add(time.Minute), errors.New("connection refused"))
	gone := NewPending("gone", time.Now().Add(time.Minute), errors.New("connection refused"))
	tr := mountStub(t, time.Minute, func(o *Options) {
		o.Single = false
		o.Pending = []*Pending{late, gone}
	})
	names := func(dir string) ([]string, error) {
		es, err := os.ReadDir(dir)
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out, err
	}
	if got, err := names(tr.dir); err != nil || fmtList(got) != "gone late stub" {
		t.Fatalf("root: %v, %v", got, err)
	}
	lateDir := filepath.Join(tr.dir, "late")
	fi, err := os.Stat(lateDir)
	if err != nil || !fi.IsDir() {
		t.Fatalf("stat late: %v, %v", fi, err)
	}
	if _, err := names(lateDir); !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("listing a pending catalog: %v, want EAGAIN", err)
	}
	if _, err := os.Stat(filepath.Join(lateDir, "C")); !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("lookup in a pending catalog: %v, want EAGAIN (not a cached ENOENT)", err)
	}

	late.Started(catalog.New(tr.src, tr.rd, catalog.Options{Name: "late", TTL: time.Minute, Cache: tr.fs.o.Cache}))
	if got, err := names(lateDir); err != nil || fmtList(got) != "C" {
		t.Errorf("listing once started: %v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(lateDir, "C", "2024", "02", "29", "item-a", "known.tif")); err != nil {
		t.Errorf("a file of the started catalog: %v", err)
	}

	gone.Failed(errors.New("gave up"))
	if _, err := names(filepath.Join(tr.dir, "gone")); !errors.Is(err, syscall.EACCES) {
		t.Errorf("listing a catalog that gave up: %v, want EACCES", err)
	}
}
