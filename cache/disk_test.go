package cache

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// diskCache returns a Cache with its disk tier in dir, closed at the end of
// the test.
func diskCache(t *testing.T, dir string, o Options) *Cache {
	t.Helper()
	o.DiskDir = dir
	c := newCache(t, o)
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	checkAtEnd(t, c) // before Close, with the files
	return c
}

// closeCache flushes the disk writes of c.
func closeCache(t *testing.T, c *Cache) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// blockFiles returns the paths of the block files under dir, sorted.
func blockFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, blockExt) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// blockPath returns the path of the block file of block idx of key.
func blockPath(dir, key string, idx int64) string {
	d := &disk{dir: dir}
	return d.path(diskKey{sha256.Sum256([]byte(key)), idx})
}

// readAll reads the whole object through c and checks its bytes.
func readAll(t *testing.T, c *Cache, obj Object, seed int) {
	t.Helper()
	p := make([]byte, obj.Size)
	n, err := c.ReadAt(t.Context(), obj, p, 0)
	if int64(n) != obj.Size || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt(whole) = %d, %v", n, err)
	}
	if !bytes.Equal(p, ramp(seed, 0, obj.Size)) {
		t.Fatal("ReadAt(whole): wrong bytes")
	}
}

func TestDiskSurvivesRestart(t *testing.T) {
	checkNoLeak(t)
	const bs = 4096
	const size = 25*bs - 100 // 25 blocks, the last one short
	dir := t.TempDir()
	o := Options{Memory: 100 * bs, BlockSize: bs}

	c1 := diskCache(t, dir, o)
	src := &rampSource{seed: 3, size: size}
	readAll(t, c1, Object{Key: "https://h/a.tif\x00v1", Size: size, Src: src}, 3)
	closeCache(t, c1)
	if s := c1.Stats(); s.DiskWrites != 25 || s.DiskMisses != 25 || s.DiskHits != 0 || s.DiskBytes != 24*fileSize(bs)+fileSize(bs-100) {
		t.Errorf("first cache: stats %+v, want 25 blocks written", s)
	}
	if n := len(blockFiles(t, dir)); n != 25 {
		t.Errorf("%d block files, want 25", n)
	}

	// A new cache over the same folder: no call to the source at all.
	c2 := diskCache(t, dir, o)
	if s := c2.Stats(); s.DiskBytes != c1.Stats().DiskBytes {
		t.Errorf("index rebuilt with %d bytes, want %d", s.DiskBytes, c1.Stats().DiskBytes)
	}
	src2 := &rampSource{seed: 3, size: size, fail: func(int) error { return errors.New("must not be called") }}
	obj := Object{Key: "https://h/a.tif\x00v1", Size: size, Src: src2}
	readAll(t, c2, obj, 3)
	// Also through a Reader, whose read-ahead reads the disk too.
	r := c2.NewReader(obj)
	defer r.Close()
	for off := int64(0); off < size; off += 1000 {
		if _, err := r.ReadAt(t.Context(), make([]byte, 1000), off); err != nil && err != io.EOF {
			t.Fatal(err)
		}
	}
	if got := src2.Calls(); len(got) != 0 {
		t.Errorf("source called %v", got)
	}
	if s := c2.Stats(); s.DiskHits != 25 || s.DiskMisses != 0 || s.Fetches != 0 || s.DiskWrites != 0 {
		t.Errorf("second cache: stats %+v, want 25 disk hits and nothing else", s)
	}
	// Another version of the object does not see these blocks.
	src3 := &rampSource{seed: 9, size: size}
	readAll(t, c2, Object{Key: "https://h/a.tif\x00v2", Size: size, Src: src3}, 9)
	if got := src3.Calls(); len(got) != 1 {
		t.Errorf("new version: calls %v, want one fetch", got)
	}
}

func TestDiskCorruptBlockNotServed(t *testing.T) {
	const bs = 4096
	const size = 10 * bs
	const bad = 4 // the block whose file is damaged
	flip := func(at int64) func(t *testing.T, p string) {
		return func(t *testing.T, p string) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if at < 0 {
				at += int64(len(b))
			}
			b[at] ^= 0x40
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	truncate := func(n int64) func(t *testing.T, p string) {
		return func(t *testing.T, p string) {
			if n < 0 {
				n += fileSize(bs)
			}
			if err := os.Truncate(p, n); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{name: "torn in the payload", damage: truncate(int64(headerLen + bs/2))},
		{name: "footer cut", damage: truncate(-1)},
		{name: "empty", damage: truncate(0)},
		{name: "payload byte flipped", damage: flip(int64(headerLen + 1000))},
		{name: "magic flipped", damage: flip(0)},
		{name: "key hash flipped", damage: flip(10)},
		{name: "index flipped", damage: flip(int64(len(headerMagic)) + sha256.Size)},
		{name: "length flipped", damage: flip(int64(headerLen - 8))},
		{name: "crc flipped", damage: flip(-int64(footerLen))},
		{name: "footer magic flipped", damage: flip(-1)},
		{name: "byte appended", damage: func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte{0})
			f.Close()
		}},
		{name: "file of another block", damage: func(t *testing.T, p string) {
			b, err := os.ReadFile(blockPath(filepath.Dir(filepath.Dir(filepath.Dir(p))), "k", bad+1))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(p, b, 0o600)
		}},
		{name: "missing", damage: func(t *testing.T, p string) { os.Remove(p) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeak(t)
			dir := t.TempDir()
			o := Options{Memory: 100 * bs, BlockSize: bs}
			c1 := diskCache(t, dir, o)
			readAll(t, c1, Object{Key: "k", Size: size, Src: &rampSource{seed: 1, size: size}}, 1)
			closeCache(t, c1)

			tt.damage(t, blockPath(dir, "k", bad))

			c2 := diskCache(t, dir, o)
			src := &rampSource{seed: 1, size: size}
			readAll(t, c2, Object{Key: "k", Size: size, Src: src}, 1)
			if got, want := src.Calls(), []span{{bad * bs, (bad + 1) * bs}}; !slices.Equal(got, want) {
				t.Errorf("calls %v, want %v: the damaged block refetched, the others from disk", got, want)
			}
			if s := c2.Stats(); s.DiskHits != 9 || s.DiskMisses != 1 {
				t.Errorf("stats %+v, want 9 disk hits and 1 miss", s)
			}
			closeCache(t, c2) // the refetched block is written again

			c3 := diskCache(t, dir, o)
			src3 := &rampSource{seed: 1, size: size}
			readAll(t, c3, Object{Key: "k", Size: size, Src: src3}, 1)
			if got := src3.Calls(); len(got) != 0 {
				t.Errorf("after rewrite: calls %v, want none", got)
			}
		})
	}
}

func TestDiskBlockSizeChanged(t *testing.T) {
	dir := t.TempDir()
	const size = 10_000
	// size 10000 with 4096-byte blocks: block 2 holds 1808 bytes; with
	// 1808-byte blocks block 2 holds 1808 bytes too, at another offset.
	c1 := diskCache(t, dir, Options{Memory: 1 << 20, BlockSize: 4096})
	readAll(t, c1, Object{Key: "k", Size: size, Src: &rampSource{seed: 2, size: size}}, 2)
	closeCache(t, c1)
	c2 := diskCache(t, dir, Options{Memory: 1 << 20, BlockSize: 1808})
	src := &rampSource{seed: 2, size: size}
	readAll(t, c2, Object{Key: "k", Size: size, Src: src}, 2)
	if s := c2.Stats(); s.DiskHits != 0 {
		t.Errorf("stats %+v: blocks of another block size served", s)
	}
}

func TestDiskEvictionLRU(t *testing.T) {
	checkNoLeak(t)
	const bs = 4096
	const size = 10 * bs
	dir := t.TempDir()
	o := Options{Memory: 100 * bs, BlockSize: bs, DiskBytes: 4*fileSize(bs) + 10}
	readBlock := func(c *Cache, src *rampSource, b int64) {
		t.Helper()
		if _, err := c.ReadAt(t.Context(), Object{Key: "k", Size: size, Src: src}, make([]byte, 1), b*bs); err != nil {
			t.Fatal(err)
		}
	}
	files := func() []string {
		var want []string
		for _, f := range blockFiles(t, dir) {
			want = append(want, filepath.Base(f))
		}
		return want
	}
	names := func(blocks ...int64) []string {
		var n []string
		for _, b := range blocks {
			n = append(n, filepath.Base(blockPath(dir, "k", b)))
		}
		slices.Sort(n)
		return n
	}

	c1 := diskCache(t, dir, o)
	src := &rampSource{seed: 1, size: size}
	for b := range int64(10) {
		readBlock(c1, src, b)
		// One at a time, so that the writes keep the order of the reads.
		waitFor(t, "the block to be written", func() bool { return c1.Stats().DiskWrites == b+1 })
	}
	closeCache(t, c1)
	if s := c1.Stats(); s.DiskEvictions != 6 || s.DiskBytes != 4*fileSize(bs) {
		t.Errorf("stats %+v, want 6 disk evictions and 4 files", s)
	}
	if got, want := files(), names(6, 7, 8, 9); !slices.Equal(got, want) {
		t.Errorf("files %v, want the last 4 blocks %v", got, want)
	}

	// Recency: a disk hit on 6 makes 7 the oldest.
	c2 := diskCache(t, dir, o)
	src2 := &rampSource{seed: 1, size: size}
	readBlock(c2, src2, 6)
	readBlock(c2, src2, 0)
	closeCache(t, c2)
	if got, want := files(), names(0, 6, 8, 9); !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
	if got := src2.Calls(); !slices.Equal(got, []span{{0, bs}}) {
		t.Errorf("calls %v, want block 0 only", got)
	}
}

func TestDiskScan(t *testing.T) {
	const bs = 4096
	const size = 6 * bs
	dir := t.TempDir()
	c1 := diskCache(t, dir, Options{Memory: 100 * bs, BlockSize: bs})
	readAll(t, c1, Object{Key: "k", Size: size, Src: &rampSource{size: size}}, 0)
	closeCache(t, c1)

	// Recency as left by the last run: block 3 oldest, then 1, 5, 0, 2, 4.
	base := time.Now().Add(-time.Hour)
	for i, b := range []int64{3, 1, 5, 0, 2, 4} {
		mt := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(blockPath(dir, "k", b), mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	// A write torn by a crash, and files that are not the cache's.
	torn := blockPath(dir, "k", 7) + tmpMark + "123"
	os.WriteFile(torn, []byte("half"), 0o600)
	foreign := []string{filepath.Join(dir, "notes.txt"), filepath.Join(dir, "zz", "x.blk")}
	for _, f := range foreign {
		os.MkdirAll(filepath.Dir(f), 0o700)
		os.WriteFile(f, []byte("mine"), 0o600)
	}

	// A smaller budget: the 3 oldest go at once.
	c2 := diskCache(t, dir, Options{Memory: 100 * bs, BlockSize: bs, DiskBytes: 3 * fileSize(bs)})
	if _, err := os.Stat(torn); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}
	for _, f := range foreign {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("foreign file removed: %v", err)
		}
	}
	var got []int64
	for _, k := range c2.diskKeys() {
		got = append(got, k.idx)
	}
	if want := []int64{0, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("disk index, oldest first: %v, want %v", got, want)
	}
	if s := c2.Stats(); s.DiskEvictions != 3 || s.DiskBytes != 3*fileSize(bs) {
		t.Errorf("stats %+v, want 3 evictions and 3 files", s)
	}
	for _, b := range []int64{3, 1, 5} {
		if _, err := os.Stat(blockPath(dir, "k", b)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("block %d: file not evicted: %v", b, err)
		}
	}
}

func TestDiskDirLocked(t *testing.T) {
	dir := t.TempDir()
	c1 := diskCache(t, dir, Options{})
	c, err := New(Options{DiskDir: dir})
	if err == nil {
		c.Close()
		t.Fatal("second cache over the same folder: no error")
	}
	// The error names the folder and who holds it, once "cache:".
	want := fmt.Sprintf("cache: disk dir %s is in use by another mount (process %d): give each mount its own cache dir", dir, os.Getpid())
	if err.Error() != want {
		t.Errorf("second cache: %q, want %q", err, want)
	}
	closeCache(t, c1)
	closeCache(t, c1) // twice is fine
	c2, err := New(Options{DiskDir: dir})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	checkAtEnd(t, c2)
	closeCache(t, c2)
}

func TestDiskPrimeAndSpill(t *testing.T) {
	checkNoLeak(t)
	const bs = 4096
	const size = 20 * bs
	dir := t.TempDir()
	// Memory for 4 blocks: the others are evicted to disk as they pass.
	o := Options{Memory: 4 * bs, BlockSize: bs}
	c1 := diskCache(t, dir, o)
	obj := Object{Key: "k", Size: size, Src: &rampSource{seed: 7, size: size}}
	c1.Prime(obj, 0, ramp(7, 0, 3*bs))
	readAll(t, c1, obj, 7)
	closeCache(t, c1)
	if s := c1.Stats(); s.Bytes > 4*bs || s.DiskWrites != 20 {
		t.Errorf("stats %+v, want at most 4 blocks resident and 20 written", s)
	}
	c2 := diskCache(t, dir, o)
	src := &rampSource{seed: 7, size: size}
	readAll(t, c2, Object{Key: "k", Size: size, Src: src}, 7)
	if got := src.Calls(); len(got) != 0 {
		t.Errorf("calls %v, want none: primed and fetched blocks are on disk", got)
	}
}

func TestDiskReadsAfterClose(t *testing.T) {
	const bs = 4096
	dir := t.TempDir()
	c := diskCache(t, dir, Options{Memory: 100 * bs, BlockSize: bs})
	closeCache(t, c)
	src := &rampSource{seed: 1, size: 3 * bs}
	readAll(t, c, Object{Key: "k", Size: 3 * bs, Src: src}, 1)
	if n := len(blockFiles(t, dir)); n != 0 {
		t.Errorf("%d block files written after Close", n)
	}
}
