package tests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// faultyConfig mounts f with a small cache, a short stall timeout and a
// short retry budget, so faults are met often and cost little time, and a
// metadata TTL of ttl.
func faultyConfig(f *fixture, budget, ttl string) string {
	return strings.Replace(configFor(f.srv, ""), "[cache]\nmemory = \"64MiB\"\n",
		fmt.Sprintf("[cache]\nmemory = \"8MiB\"\nmetadata_ttl = %q\n\n[network]\nretry_budget = %q\nstall_timeout = \"500ms\"\n", ttl, budget), 1)
}

// TestFaultInjection: with 10%% 5xx, 5%% resets, 2%% stalls and 1%% short
// bodies on every request, 10 000 random-range reads and 50 whole-file
// reads give 0 wrong bytes and 0 errors.
func TestFaultInjection(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(7, 11))
	var injected [4]int
	f.srv.SetFault(func(r *http.Request) *fakestac.Fault {
		mu.Lock()
		defer mu.Unlock()
		switch x := rng.Float64(); {
		case x < 0.10:
			injected[0]++
			return &fakestac.Fault{Status: http.StatusServiceUnavailable}
		case x < 0.15:
			injected[1]++
			return &fakestac.Fault{Reset: true}
		case x < 0.17:
			injected[2]++
			return &fakestac.Fault{Stall: 1500 * time.Millisecond}
		case x < 0.18:
			injected[3]++
			return &fakestac.Fault{ShortBody: true}
		}
		return nil
	})
	m := startMount(t, faultyConfig(f, "30s", "10s"))
	type file struct {
		path string
		seed int
		size int64
	}
	var files []file
	for i := range 12 {
		id := fmt.Sprintf("S2_page_%02d", i)
		files = append(files, file{filepath.Join(m.Dir, "S2/2024/06/07", id, "B04.tif"), 100 + i, bigSize})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	const readers = 8
	for w := range readers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for range 10000 / readers {
				fl := files[r.IntN(len(files))]
				off := r.Int64N(fl.size)
				n := 1 + r.Int64N(64<<10)
				fh, err := os.Open(fl.path)
				if err != nil {
					errs <- err
					return
				}
				buf := make([]byte, n)
				k, err := fh.ReadAt(buf, off)
				fh.Close()
				if err != nil && err != io.EOF {
					errs <- fmt.Errorf("ReadAt(%s, %d, %d): %w", filepath.Base(filepath.Dir(fl.path)), off, n, err)
					return
				}
				if !bytes.Equal(buf[:k], ramp(fl.seed, off, int64(k))) || int64(k) != min(n, fl.size-off) {
					errs <- fmt.Errorf("wrong bytes at %d+%d of %s", off, n, fl.path)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range 50 {
		fl := files[i%len(files)]
		dropPageCache(t, fl.path)
		got, err := os.ReadFile(fl.path)
		if err != nil {
			errs <- fmt.Errorf("whole read %d: %w", i, err)
			break
		}
		if sha256.Sum256(got) != sha256.Sum256(ramp(fl.seed, 0, fl.size)) {
			errs <- fmt.Errorf("whole read %d of %s: sha256 differs", i, fl.path)
		}
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mu.Lock()
	t.Logf("faults injected: %d 5xx, %d resets, %d stalls, %d short bodies over %d requests", injected[0], injected[1], injected[2], injected[3], len(f.srv.Requests()))
	mu.Unlock()
}

// TestTotalOutage: with every server down, ls and cat fail with EIO within
// the retry budget (+2 s), no reader is left stuck, and the mount recovers
// by itself when the servers return.
func TestTotalOutage(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	const budget = 3 * time.Second
	m := startMount(t, faultyConfig(f, budget.String(), "1s"))
	ls(t, m.Dir) // collections known; the rest is not
	var down sync.Mutex
	outage := true
	f.srv.SetFault(func(r *http.Request) *fakestac.Fault {
		down.Lock()
		defer down.Unlock()
		if outage {
			return &fakestac.Fault{Reset: true}
		}
		return nil
	})
	for _, c := range [][]string{
		{"ls", filepath.Join(m.Dir, "S2/2023")},
		{"cat", filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a/B04.tif")},
	} {
		start := time.Now()
		cmd := clientCommand(t, c[0], c[1:]...)
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		if err == nil {
			t.Errorf("%s during an outage succeeded", c[0])
		}
		if !strings.Contains(string(out), "Input/output error") {
			t.Errorf("%s during an outage: %s, want EIO", c[0], out)
		}
		if took > budget+2*time.Second {
			t.Errorf("%s failed after %v, want within %v", c[0], took, budget+2*time.Second)
		}
	}
	down.Lock()
	outage = false
	down.Unlock()
	time.Sleep(1100 * time.Millisecond) // failures are not cached, listings expire
	if got := ls(t, filepath.Join(m.Dir, "S2/2023/03/15")); len(got) != 2 {
		t.Errorf("after the outage: %q", got)
	}
	if _, err := os.ReadFile(filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a/B04.tif")); err != nil {
		t.Errorf("read after the outage: %v", err)
	}
}

// TestAssetReplacedMidRead: an open file never returns bytes of two
// versions (it reads the old one or fails with ESTALE); a new open reads
// the new version.
func TestAssetReplacedMidRead(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, faultyConfig(f, "10s", "1s"))
	path := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a/B04.tif")
	old := ramp(1, 0, bigSize)
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	head := make([]byte, 256<<10)
	if _, err := fh.ReadAt(head, 0); err != nil || !bytes.Equal(head, old[:len(head)]) {
		t.Fatalf("first read: %v", err)
	}
	newer := bytes.Repeat([]byte("new version "), bigSize/12+1)[:bigSize]
	f.srv.SetAssetContent("/data/s2/S2A_20230315_a/B04.tif", newer)
	dropPageCache(t, path)
	rest := make([]byte, bigSize)
	n, err := fh.ReadAt(rest, 0)
	switch {
	case errors.Is(err, syscall.ESTALE):
		t.Logf("open file after the change: ESTALE after %d bytes", n)
	case err != nil && err != io.EOF:
		t.Fatalf("open file after the change: %v, want old bytes or ESTALE", err)
	}
	if !bytes.Equal(rest[:n], old[:n]) {
		t.Fatal("an open file returned bytes of the new version")
	}
	time.Sleep(1100 * time.Millisecond) // the metadata TTL: new opens see the new version
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, newer) {
		t.Fatalf("a new open read %q..., want the new version", got[:24])
	}
}

// TestMmapAfterAssetReplaced: once an asset is replaced, a new memory map
// shows the new version, never pages of the old one (the old pages are
// dropped from the page cache when an open finds the new version). The maps
// are made by another process (python3): a page fault of this one would
// stop it, fake server included, at the next garbage collection.
func TestMmapAfterAssetReplaced(t *testing.T) {
	requireTool(t, "python3")
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, faultyConfig(f, "10s", "1s"))
	path := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a/B04.tif")
	const script = `import hashlib, mmap, sys
with open(sys.argv[1], "rb") as f:
    m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    print(hashlib.sha256(m).hexdigest())
    m.close()`
	mapped := func() string {
		t.Helper()
		out, err := clientCommand(t, "python3", "-c", script, path).CombinedOutput()
		if err != nil {
			t.Fatalf("python3 mmap: %v: %s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	old := sum(ramp(1, 0, bigSize))
	for i := range 2 {
		if got := mapped(); got != old {
			t.Fatalf("map %d: sha256 %s, want %s", i, got, old)
		}
	}
	newer := bytes.Repeat([]byte("new version "), bigSize/12+1)[:bigSize]
	f.srv.SetAssetContent("/data/s2/S2A_20230315_a/B04.tif", newer)
	time.Sleep(1100 * time.Millisecond) // the metadata TTL: new opens see the new version
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := mapped()
		if got == sum(newer) {
			break
		}
		if got != old {
			t.Fatal("a map mixes the old and the new version")
		}
		if time.Now().After(deadline) {
			t.Fatal("a new map still shows the old version 5 s after the metadata TTL")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
