package tests

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// TestCachedFileWhileAssetServerDown: past the metadata TTL, with the
// asset host resetting every connection, a file whose bytes are cached
// reads whole well within the retry budget (its last stat is used while
// the reload goes on), and an uncached read fails with EIO after one
// retry budget, not after the open's and then the read's.
func TestCachedFileWhileAssetServerDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakestac.Options{})
	const budget = 10 * time.Second
	m := startMount(t, faultyConfig(f, budget.String(), "1s"))
	cached := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a/B04.tif")
	uncached := filepath.Join(m.Dir, "S2/2023/03/15/S2B_20230315_b/B04.tif")
	want := sha256.Sum256(ramp(1, 0, bigSize))
	if got, err := os.ReadFile(cached); err != nil || sha256.Sum256(got) != want {
		t.Fatalf("first read: %v", err)
	}
	fh, err := os.Open(uncached) // its stat is known, its bytes are not
	if err != nil {
		t.Fatal(err)
	}
	fh.Close()
	f.srv.SetFault(func(r *http.Request) *fakestac.Fault {
		if strings.HasPrefix(r.URL.Path, "/data/") {
			return &fakestac.Fault{Reset: true}
		}
		return nil
	})
	time.Sleep(1100 * time.Millisecond) // past the metadata TTL
	for i := range 3 {
		start := time.Now()
		got, err := os.ReadFile(cached)
		took := time.Since(start)
		t.Logf("cached file, asset host down, read %d: %v", i, took)
		if err != nil || sha256.Sum256(got) != want {
			t.Fatalf("cached file with the asset host down, read %d: %v", i, err)
		}
		if took > budget/2 {
			t.Errorf("cached file with the asset host down, read %d took %v; want well within the retry budget (%v)", i, took, budget)
		}
	}
	start := time.Now()
	fh, err = os.Open(uncached)
	if err != nil {
		t.Fatalf("open of a stated file with the asset host down: %v", err)
	}
	defer fh.Close()
	opened := time.Since(start)
	_, err = fh.ReadAt(make([]byte, 64<<10), 2<<20)
	took := time.Since(start)
	t.Logf("uncached read, asset host down: open %v, EIO after %v", opened, took)
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("uncached read with the asset host down: %v, want EIO", err)
	}
	if took > budget+4*time.Second {
		t.Errorf("uncached open and read failed after %v; want one retry budget (%v), not two", took, budget)
	}
}

// TestChangedAssetNextOpen: once a read finds an asset changed (ESTALE
// for that open file), the next open reads the new version at once (not
// after metadata_ttl, 5 min here); after `stacfs refresh` of its day, its
// item, the file or the mount, an open reads a newer version without an
// ESTALE first.
func TestChangedAssetNextOpen(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	day := filepath.Join(m.Dir, "S2/2023/03/15")
	path := filepath.Join(day, "S2A_20230315_a/B04.tif")
	const asset = "/data/s2/S2A_20230315_a/B04.tif"
	fh, err := os.Open(path) // stats the file: its version is v1
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	version := func(s string) []byte { return bytes.Repeat([]byte(s), bigSize/len(s)+1)[:bigSize] }
	v2 := version("second version ")
	f.srv.SetAssetContent(asset, v2)
	if _, err := fh.ReadAt(make([]byte, 64<<10), 2<<20); !errors.Is(err, syscall.ESTALE) {
		t.Fatalf("open file after the change: %v, want ESTALE", err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, v2) {
		t.Fatalf("a new open after the change: %v; want the new version", err)
	}
	// stacfs refresh of the day, of the item, of the file (its folder) or
	// of the mount: the next open asks for the version, no ESTALE first.
	for i, target := range []string{day, filepath.Dir(path), path, m.Dir} {
		newer := version(fmt.Sprintf("version %d ", i+3))
		f.srv.SetAssetContent(asset, newer)
		if out, errOut, code := runStacfs(t, "refresh", target); code != 0 {
			t.Fatalf("refresh %s: exit %d\n%s\n%s", target, code, out, errOut)
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, newer) {
			t.Errorf("an open after the change and stacfs refresh %s: %v; want the newest version", target, err)
		}
	}
}

// TestWrongFileSize: an item whose file:size disagrees with the server.
// stat tells file:size until the file is opened (a listing makes no
// request); the open learns the server's size and drops the kernel's
// attributes before it returns, so tar, which stats the file again once
// open, archives the server's bytes whole; from then on stat gives the
// server's size, a copy is the server's bytes, and stacfs logs one WARN
// naming the item, the asset and both sizes. Were the kernel slow to drop
// them, tar would say the file shrank or changed: never a wrong archive
// in silence.
func TestWrongFileSize(t *testing.T) {
	t.Parallel()
	requireTool(t, "tar")
	for _, tc := range []struct {
		id             string
		fileSize, real int
	}{
		{"S2_says_more", 200000, 100000},
		{"S2_says_less", 100000, 200000},
	} {
		t.Run(tc.id, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fakestac.Options{})
			assetPath := "/data/s2/" + tc.id + "/B01.tif"
			f.srv.AddItem(fakestac.Item{ID: tc.id, Collection: "S2", Datetime: ts("2023-03-16T10:00:00Z"),
				Assets: map[string]fakestac.Asset{"B01": {Path: assetPath, Size: int64(tc.fileSize), Seed: 5, FileSize: true}}})
			data := ramp(5, 0, int64(tc.real))
			f.srv.SetAssetContent(assetPath, data)
			m := startMount(t, configFor(f.srv, ""))
			dir := filepath.Join(m.Dir, "S2/2023/03/16", tc.id)
			p := filepath.Join(dir, "B01.tif")
			if fi, err := os.Stat(p); err != nil || fi.Size() != int64(tc.fileSize) {
				t.Fatalf("stat before the open: %s, want file:size %d", statSize(fi, err), tc.fileSize)
			}
			tarball := filepath.Join(t.TempDir(), "a.tar")
			cmd := exec.Command("tar", "-cf", tarball, "-C", dir, "B01.tif")
			cmd.Env = append(os.Environ(), "LC_ALL=C")
			out, err := cmd.CombinedOutput()
			t.Logf("first tar: %v %s", err, out)
			if err == nil {
				if list := run(t, "tar", "-tvf", tarball); !strings.Contains(list, " "+strconv.Itoa(tc.real)+" ") {
					t.Errorf("first tar succeeded and stored:\n%s\nwant the server's %d bytes", list, tc.real)
				}
			} else if !strings.Contains(string(out), "File shrank") && !strings.Contains(string(out), "file changed as we read it") {
				t.Errorf("first tar: %v: %s; want the server's bytes, or tar to say the file changed", err, out)
			}
			if fi, err := os.Stat(p); err != nil || fi.Size() != int64(tc.real) {
				t.Errorf("stat after the open: %s, want the server's %d", statSize(fi, err), tc.real)
			}
			if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, data) {
				t.Errorf("copy: %d bytes, %v; want the server's %d", len(got), err, tc.real)
			}
			run(t, "tar", "-cf", tarball, "-C", dir, "B01.tif")
			if list := run(t, "tar", "-tvf", tarball); !strings.Contains(list, " "+strconv.Itoa(tc.real)+" ") {
				t.Errorf("tar after the open stored:\n%s\nwant %d bytes", list, tc.real)
			}
			if log, ok := m.logged("WARN", "item="+tc.id, "asset=B01", "file:size="+strconv.Itoa(tc.fileSize), "server_size="+strconv.Itoa(tc.real)); !ok {
				t.Errorf("no WARN naming the item, the asset and both sizes:\n%s", log)
			} else if n := strings.Count(log, "server_size="); n != 1 {
				t.Errorf("%d WARN lines for one asset, want 1:\n%s", n, log)
			}
		})
	}
}
