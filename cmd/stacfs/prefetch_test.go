package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// collectPrefetch walks root as prefetch does and stats what it finds.
func collectPrefetch(t *testing.T, root string) []prefetchFile {
	t.Helper()
	var files []prefetchFile
	walkPrefetch([]string{root}, func(p string, err error) { t.Errorf("%s: %v", p, err) }, func(f prefetchFile) bool {
		size, err := f.stat()
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
		}
		files = append(files, prefetchFile{path: f.path, size: size})
		return true
	})
	return files
}

// slowInfo is a file's stat that waits until `want` stats are under way at
// once (or gives up after 5 s): stats made one after the other never get
// there. The files must come in multiples of want.
type slowInfo struct {
	mu      sync.Mutex
	cond    *sync.Cond
	running int
	gen     int // batches released
	want    int
	most    atomic.Int64
}

func (s *slowInfo) info(size int64, err error) func() (fs.FileInfo, error) {
	return func() (fs.FileInfo, error) {
		s.mu.Lock()
		s.running++
		s.most.Store(max(s.most.Load(), int64(s.running)))
		gen := s.gen
		if s.running >= s.want {
			s.gen++ // this batch is all there: release it
		}
		s.cond.Broadcast()
		deadline := time.AfterFunc(5*time.Second, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
		start := time.Now()
		for s.gen == gen && time.Since(start) < 5*time.Second {
			s.cond.Wait()
		}
		deadline.Stop()
		s.running--
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return sizedInfo(size), nil
	}
}

// sizedInfo is a regular file's FileInfo of a given size.
type sizedInfo int64

func (s sizedInfo) Name() string       { return "f" }
func (s sizedInfo) Size() int64        { return int64(s) }
func (s sizedInfo) Mode() fs.FileMode  { return 0o444 }
func (s sizedInfo) ModTime() time.Time { return time.Time{} }
func (s sizedInfo) IsDir() bool        { return false }
func (s sizedInfo) Sys() any           { return nil }

// TestPrefetchStatsInWorkers: the stats of the files the walk finds run in
// the --jobs workers, in parallel (the walk only lists), and their
// results reach the summary as before: sizes summed, a failed stat counted
// as failed and named, the file not read.
func TestPrefetchStatsInWorkers(t *testing.T) {
	for _, tc := range []struct {
		name       string
		jobs       int
		sizes      []int64
		failing    int // index of the file whose stat fails, or -1
		ok, failed int64
	}{
		{"four jobs, four files", 4, []int64{10, 20, 30, 40}, -1, 4, 0},
		{"three jobs, six files, one stat fails", 3, []int64{1, 2, 3, 4, 5, 6}, 4, 5, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slow := &slowInfo{want: tc.jobs}
			slow.cond = sync.NewCond(&slow.mu)
			p := &prefetchProgress{start: time.Now()}
			var mu sync.Mutex
			var failed, read []string
			fail := func(path string, err error) { mu.Lock(); failed = append(failed, path); mu.Unlock() }
			readFake := func(_ context.Context, path string, _ []byte, n *atomic.Int64) error {
				mu.Lock()
				read = append(read, path)
				mu.Unlock()
				n.Add(1)
				return nil
			}
			var want int64
			runPrefetch(context.Background(), tc.jobs, p, fail, readFake,
				func(emit func(prefetchFile) bool) {
					for i, size := range tc.sizes {
						var err error
						if i == tc.failing {
							err = errors.New("stat failed")
						} else {
							want += size
						}
						if !emit(prefetchFile{path: fmt.Sprint("f", i), info: slow.info(size, err)}) {
							return
						}
					}
				})
			if most := slow.most.Load(); most < int64(tc.jobs) {
				t.Errorf("at most %d stats at once, want %d (--jobs)", most, tc.jobs)
			}
			if p.ok.Load() != tc.ok || p.failed.Load() != tc.failed || p.files.Load() != tc.ok || p.totalBytes.Load() != want {
				t.Errorf("ok %d failed %d files %d bytes %d, want ok %d failed %d files %d bytes %d",
					p.ok.Load(), p.failed.Load(), p.files.Load(), p.totalBytes.Load(), tc.ok, tc.failed, tc.ok, want)
			}
			if tc.failing >= 0 && (len(failed) != 1 || failed[0] != fmt.Sprint("f", tc.failing)) {
				t.Errorf("failures named %q, want f%d", failed, tc.failing)
			}
			if int64(len(read)) != tc.ok {
				t.Errorf("read %q, want %d files", read, tc.ok)
			}
		})
	}
}

// TestPrefetchSkipsZipViews: the folder view of a zip (NAME, NAME.zip.d,
// NAME.d) is not walked, its zip file is; a real folder that took NAME is.
func TestPrefetchSkipsZipViews(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{
		"P.zip", "P/P.SAFE/manifest.safe", // P is P.zip's view
		"Q.zip", "Q/x.tif", "Q.zip.d/inner.xml", // Q is a real folder: the view is Q.zip.d
		"R", "R.d/member.txt", // a zip asset named R
		"S.d/plain.txt", // a folder that is no zip's view
	} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, f := range collectPrefetch(t, root) {
		rel, _ := filepath.Rel(root, f.path)
		got = append(got, rel)
	}
	sort.Strings(got)
	want := []string{"P.zip", "Q.zip", "Q/x.tif", "R", "S.d/plain.txt"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prefetch reads %q, want %q", got, want)
	}
}

// TestCollectPrefetchNoSymlinks: the walk reads regular files only and
// follows no symbolic link inside the folder it walks.
func TestCollectPrefetchNoSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "big"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "big"), filepath.Join(dir, "big")); err != nil {
		t.Fatal(err)
	}
	files := collectPrefetch(t, dir)
	if len(files) != 1 || files[0].path != filepath.Join(dir, "a") || files[0].size != 5 {
		t.Errorf("files %+v, want only a (5 bytes)", files)
	}
}
