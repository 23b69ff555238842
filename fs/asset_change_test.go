package fs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// sizeWithin polls stat (of a path, or fstat of an open file) for up to
// 2 s until it gives want: the kernel's cached attributes are dropped by a
// notification stacfs sends in the background.
func sizeWithin(t *testing.T, what string, stat func() (os.FileInfo, error), want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		fi, err := stat()
		if err == nil && fi.Size() == int64(want) {
			return
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			t.Fatalf("%s: size %d, want %d", what, fi.Size(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMountedChangedAtRead: an open handle whose asset changed on the
// server gets ESTALE; a new open, long before the metadata TTL, reads the
// new version, and stat shows its size (the server's, not the item's
// file:size), as the kernel's cached attributes do.
func TestMountedChangedAtRead(t *testing.T) {
	tr := mountStub(t, time.Hour)
	p := filepath.Join(tr.item, "known.tif")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 8)
	if _, err := f.ReadAt(head, 0); err != nil || string(head) != "known-v1" {
		t.Fatalf("read: %q %v", head, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() != int64(len(knownBytes)) {
		t.Fatalf("stat: %v %v", fi, err)
	}
	v2 := bytes.Repeat([]byte("known-v2"), 6144) // 48 KiB
	tr.rd.mu.Lock()
	tr.rd.objects["known.tif"], tr.rd.etag = v2, `"v2"`
	tr.rd.mu.Unlock()
	// Past the first block (the stat's head, cached): a request.
	if _, err := f.ReadAt(head, 20000); !errors.Is(err, syscall.ESTALE) {
		t.Fatalf("read of the open handle after the change: %v; want ESTALE", err)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, v2) {
		t.Fatalf("a new open after the change read %d bytes, %v; want the new version (%d bytes)", len(got), err, len(v2))
	}
	sizeWithin(t, "stat after the change", func() (os.FileInfo, error) { return os.Stat(p) }, len(v2))
}

// TestMountedSizeMismatch: an item whose file:size is wrong shows it
// until the file is opened (a listing makes no request); the open learns
// the server's length, reads end there, and from then on fstat and stat
// give the server's size (tar then sees the file change instead of
// archiving a silently cut or padded copy).
func TestMountedSizeMismatch(t *testing.T) {
	for _, tc := range []struct {
		name           string
		fileSize, real int
	}{
		{"item says more", 200000, 100000},
		{"item says less", 100000, 200000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := mountStub(t, time.Hour)
			data := bytes.Repeat([]byte("0123456789"), tc.real/10)
			tr.src.mu.Lock()
			tr.src.items = append(tr.src.items, stubItem("item-w", map[string]int64{"wrong.bin": int64(tc.fileSize)}))
			tr.src.mu.Unlock()
			tr.rd.mu.Lock()
			tr.rd.objects["wrong.bin"] = data
			tr.rd.mu.Unlock()
			p := filepath.Join(tr.dir, "C/2024/02/29/item-w/wrong.bin")
			before := tr.rd.count()
			if fi, err := os.Stat(p); err != nil || fi.Size() != int64(tc.fileSize) || tr.rd.count() != before {
				t.Fatalf("stat before the open: %v %v, %d requests; want file:size %d and none", fi, err, tr.rd.count()-before, tc.fileSize)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := io.ReadAll(f)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, %v; want the server's %d", len(got), err, len(data))
			}
			sizeWithin(t, "fstat after the open", f.Stat, tc.real)
			sizeWithin(t, "stat after the open", func() (os.FileInfo, error) { return os.Stat(p) }, tc.real)
		})
	}
}
