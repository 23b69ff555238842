package fs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
)

// The tests of this file mount the tree in the test process, as go-fuse's
// own tests do (fs.Mount on a temporary folder, served by goroutines of
// the test), over a stub catalog: they see what the kernel sees.

// stubTree is a mounted stub catalog: one item "item-a" on 2024-02-29
// with an asset whose size the item gives (known.tif), one whose size
// takes a request (unknown.tif) and one served without length or Range
// (stream.dat).
type stubTree struct {
	fs   *FS
	src  *stubSource
	rd   *stubReader
	dir  string // the mount point
	item string // the item folder

	readdirs atomic.Int64 // READDIR operations served
	lookups  atomic.Int64 // LOOKUP operations served
}

var (
	knownBytes   = bytes.Repeat([]byte("known-v1"), 4096) // 32 KiB
	unknownBytes = bytes.Repeat([]byte("unknown "), 1000)
	streamBytes  = bytes.Repeat([]byte("zip "), 750)
)

// requireFUSE skips a test that mounts when the machine has no FUSE
// (fails it in CI).
func requireFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("/dev/fuse is required: %v", err)
		}
		t.Skipf("no FUSE: %v", err)
	}
}

func mountStub(t *testing.T, ttl time.Duration, opts ...func(*Options)) *stubTree {
	t.Helper()
	requireFUSE(t)
	src := &stubSource{items: []remote.Item{stubItem("item-a", map[string]int64{
		"known.tif": int64(len(knownBytes)), "unknown.tif": -1, "stream.dat": -1,
	})}}
	rd := &stubReader{etag: `"v1"`, objects: map[string][]byte{
		"known.tif": knownBytes, "unknown.tif": unknownBytes, "stream.dat": streamBytes,
	}, noLength: map[string]bool{"stream.dat": true}}
	bc, err := cache.New(cache.Options{Memory: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(src, rd, catalog.Options{Name: "stub", TTL: ttl, Cache: bc})
	tr := &stubTree{src: src, rd: rd}
	o := Options{Catalogs: []*catalog.Catalog{cat}, Single: true, Cache: bc,
		Observe: func(op string, _ time.Duration, _ syscall.Errno) {
			switch op {
			case "readdir":
				tr.readdirs.Add(1)
			case "lookup":
				tr.lookups.Add(1)
			}
		}}
	for _, set := range opts {
		set(&o)
	}
	f := New(o)
	dir := t.TempDir()
	srv, err := f.Mount(dir)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	tr.fs, tr.dir, tr.item = f, dir, filepath.Join(dir, "C/2024/02/29/item-a")
	return tr
}

// TestMountedReaddirplusCostlyAsset: listing an item folder (READDIRPLUS)
// makes no request: the asset whose size takes one is listed by name only
// (its lookup answers EAGAIN); a stat of it then asks once.
func TestMountedReaddirplusCostlyAsset(t *testing.T) {
	tr := mountStub(t, time.Minute)
	entries, err := os.ReadDir(tr.item)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := fmtList(names); got != "item.json known.tif stream.dat unknown.tif" {
		t.Fatalf("item folder: %s", got)
	}
	if n := tr.rd.count(); n != 0 {
		t.Errorf("listing the item made %d asset requests, want 0", n)
	}
	st, err := os.Stat(filepath.Join(tr.item, "unknown.tif"))
	if err != nil || st.Size() != int64(len(unknownBytes)) {
		t.Fatalf("stat unknown.tif: %v, %v; want size %d", st, err, len(unknownBytes))
	}
	if n := tr.rd.count(); n != 1 {
		t.Errorf("stat made %d asset requests, want 1", n)
	}
	if st, err := os.Stat(filepath.Join(tr.item, "known.tif")); err != nil || st.Size() != int64(len(knownBytes)) {
		t.Fatalf("stat known.tif: %v, %v", st, err)
	}
	if n := tr.rd.count(); n != 1 {
		t.Errorf("stat of a file whose size the item gives made a request (%d in all)", n)
	}
}

// TestMountedVolatileSize: a file whose size is not known until it is read
// whole shows size 0, and its real size as soon as it has been read: the
// kernel does not keep the 0.
func TestMountedVolatileSize(t *testing.T) {
	tr := mountStub(t, time.Minute)
	p := filepath.Join(tr.item, "stream.dat")
	if st, err := os.Stat(p); err != nil || st.Size() != 0 {
		t.Fatalf("before reading: %v, %v; want size 0", st, err)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, streamBytes) {
		t.Fatalf("read: %d bytes, %v; want %d", len(got), err, len(streamBytes))
	}
	if st, err := os.Stat(p); err != nil || st.Size() != int64(len(streamBytes)) {
		t.Fatalf("after reading: %v, %v; want size %d", st, err, len(streamBytes))
	}
}

// TestMountedVersionChange: when an asset changes on the server (new ETag,
// same size), the next open sees the new version, and a memory map of the
// file shows the new bytes: the pages of the old one are dropped (Open
// sends NotifyContent; Linux 6.18 also drops them when a file opens
// without FOPEN_KEEP_CACHE, so this holds either way there).
func TestMountedVersionChange(t *testing.T) {
	ttl := 300 * time.Millisecond
	tr := mountStub(t, ttl)
	p := filepath.Join(tr.item, "known.tif")
	// The map is read by another process: a page fault of this one on
	// its own mount can deadlock it (the faulting thread cannot stop for
	// the garbage collector, which stops the goroutines serving the fault).
	mapped := func() []byte {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMmapHelper$")
		cmd.Env = append(os.Environ(), mmapHelperEnv+"="+p)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("mmap helper: %v", err)
		}
		return out
	}
	if got := mapped(); !bytes.Equal(got, knownBytes) {
		t.Fatalf("first map: %.16q...", got)
	}
	v2 := bytes.Repeat([]byte("known-v2"), 4096)
	tr.rd.mu.Lock()
	tr.rd.objects["known.tif"], tr.rd.etag = v2, `"v2"`
	tr.rd.mu.Unlock()
	time.Sleep(ttl + 100*time.Millisecond) // the catalog asks for the version again
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, v2) {
		t.Fatalf("read after the change: %.16q... %v; want v2", got, err)
	}
	deadline := time.Now().Add(2 * time.Second) // the notification is sent in the background
	for got := mapped(); !bytes.Equal(got, v2); got = mapped() {
		if time.Now().After(deadline) {
			t.Fatalf("a map after the change shows %.16q...; want v2", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMountedListingKeptByKernel: listing a folder again within the TTL is
// answered by the kernel's copy (no READDIR reaches stacfs); once the
// catalog lists the folder again and it changed, the kernel's copy is
// dropped and the new item shows.
func TestMountedListingKeptByKernel(t *testing.T) {
	ttl := 300 * time.Millisecond
	tr := mountStub(t, ttl)
	day := filepath.Join(tr.dir, "C/2024/02/29")
	names := func() string {
		entries, err := os.ReadDir(day)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return strings.Join(out, " ")
	}
	// The first listing is read as its pages load (paging_dir.go): the
	// kernel keeps the next one.
	for range 2 {
		if got := names(); got != "item-a" {
			t.Fatalf("day: %s", got)
		}
	}
	n := tr.readdirs.Load()
	if got := names(); got != "item-a" || tr.readdirs.Load() != n {
		t.Errorf("listing again: %s, %d READDIR reached stacfs, want 0", got, tr.readdirs.Load()-n)
	}
	tr.src.mu.Lock()
	tr.src.items = append(tr.src.items, stubItem("item-b", map[string]int64{"x.tif": 10}))
	tr.src.mu.Unlock()
	time.Sleep(ttl + 100*time.Millisecond)
	if got := names(); got != "item-a item-b" {
		t.Errorf("after the TTL: %s, want item-a item-b", got)
	}
}

// TestMountedLongListingPlain: a listing asks for entries' attributes
// (READDIRPLUS) in its first answer only, until the reader looks an entry
// up (READDIRPLUS_AUTO): a plain `ls` of a big day makes no lookup per
// item. The first items are known to the kernel from the listing; the
// last one is looked up when stated.
func TestMountedLongListingPlain(t *testing.T) {
	tr := mountStub(t, time.Minute)
	tr.src.mu.Lock()
	for i := range 3000 {
		tr.src.items = append(tr.src.items, stubItem(fmt.Sprintf("item-%05d", i), map[string]int64{"x.tif": 10}))
	}
	tr.src.mu.Unlock()
	day := filepath.Join(tr.dir, "C/2024/02/29")
	entries, err := os.ReadDir(day)
	if err != nil || len(entries) != 3001 {
		t.Fatalf("day: %d entries, %v; want 3001", len(entries), err)
	}
	n := tr.lookups.Load()
	if _, err := os.Stat(filepath.Join(day, "item-a")); err != nil {
		t.Fatal(err)
	}
	if got := tr.lookups.Load() - n; got != 0 {
		t.Errorf("stat of the first item made %d lookups, want 0 (its attributes came with the first answer)", got)
	}
	if _, err := os.Stat(filepath.Join(day, "item-02999")); err != nil {
		t.Fatal(err)
	}
	if got := tr.lookups.Load() - n; got != 1 {
		t.Errorf("stat of the last item made %d lookups, want 1 (listed by name only)", got)
	}
}

// TestMountedLookupWhileReloading: after the TTL, a lookup of a name that
// its folder's last listing holds is answered from that listing while the
// folder reloads (no wait for the date probes or the day's pages); a name
// it does not hold waits for the reload, and is found when it ends.
func TestMountedLookupWhileReloading(t *testing.T) {
	ttl := 300 * time.Millisecond
	tr := mountStub(t, ttl, func(o *Options) { o.EntryTimeout = ttl }) // as stacfs mounts
	known := filepath.Join(tr.item, "known.tif")
	if _, err := os.Stat(known); err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	var held atomic.Int32
	wait := func() error { held.Add(1); <-hold; return nil }
	tr.src.mu.Lock()
	tr.src.gate = func(int) error { return wait() }
	tr.src.probeGate = wait
	tr.src.items = append(tr.src.items, stubItem("item-b", map[string]int64{"x.tif": 10}))
	tr.src.mu.Unlock()
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release) // before the unmount
	time.Sleep(ttl + 100*time.Millisecond)

	stat := func(p string) chan error {
		done := make(chan error, 1)
		go func() { _, err := os.Stat(p); done <- err }()
		return done
	}
	select {
	case err := <-stat(known):
		if err != nil {
			t.Fatalf("stat of a known file after the TTL: %v", err)
		}
	case <-time.After(5 * time.Second):
		release()
		t.Fatal("a stat of a known file after the TTL waited for its folders' reload")
	}
	for deadline := time.Now().Add(5 * time.Second); held.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the lookup started no reload")
		}
	}
	newItem := stat(filepath.Join(tr.dir, "C/2024/02/29/item-b"))
	select {
	case err := <-newItem:
		t.Fatalf("a stat of a new item returned before the reload: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	release()
	select {
	case err := <-newItem:
		if err != nil {
			t.Errorf("stat of the new item after the reload: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stat of the new item did not return after the reload")
	}
}

// mmapHelperEnv names the file TestMmapHelper maps.
const mmapHelperEnv = "STACFS_TEST_MMAP"

// TestMmapHelper is not a test: run as a child process by
// TestMountedVersionChange, it maps the file named by $STACFS_TEST_MMAP and
// writes its bytes to stdout.
func TestMmapHelper(t *testing.T) {
	p := os.Getenv(mmapHelperEnv)
	if p == "" {
		t.Skip("helper process only")
	}
	f, err := os.Open(p)
	if err != nil {
		os.Exit(2)
	}
	st, err := f.Stat()
	if err != nil {
		os.Exit(2)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		os.Exit(3)
	}
	os.Stdout.Write(m)
	os.Exit(0)
}

// TestMountedViewsReleased: every read reply lent from the cache's memory
// (zero copy) is handed back once go-fuse has written it.
func TestMountedViewsReleased(t *testing.T) {
	tr := mountStub(t, time.Minute)
	for range 3 {
		for _, name := range []string{"known.tif", "unknown.tif"} {
			if _, err := os.ReadFile(filepath.Join(tr.item, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for tr.fs.lent.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d read replies lent from the cache were never released", tr.fs.lent.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fmtList(names []string) string { return strings.Join(names, " ") }
