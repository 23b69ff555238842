package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stacfs/stacfs/mountinfo"
)

// prefetchFile is one regular file to read: its size is known (a path
// given on the command line, stat'ed by the walk) or asked by info, in the
// worker that reads it.
type prefetchFile struct {
	path string
	size int64
	info func() (fs.FileInfo, error) // nil: size is known
}

// stat returns the file's size. A stream longer than stream_stat_limit
// (EFBIG) counts 0: it opens and reads, and once read whole its size is
// known.
func (f prefetchFile) stat() (int64, error) {
	if f.info == nil {
		return f.size, nil
	}
	fi, err := f.info()
	if errors.Is(err, syscall.EFBIG) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// prefetchProgress counts what the workers have done.
type prefetchProgress struct {
	files, totalBytes atomic.Int64 // grow as the workers stat what the walk finds
	bytes, done, ok   atomic.Int64
	failed            atomic.Int64
	start             time.Time
}

func cmdPrefetch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("prefetch", "stacfs prefetch [--jobs N] PATH...", stdout, stderr)
	jobs := fl.Int("jobs", 4, "`N` files read in parallel")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError(fl, "prefetch takes at least one PATH")
	}
	if *jobs < 1 {
		return fmt.Errorf("%w: --jobs %d: want at least 1", errUsage, *jobs)
	}
	for _, path := range pos {
		if err := inStacfs(path); err != nil {
			return err
		}
	}
	var failMu sync.Mutex
	fail := func(path string, err error) {
		failMu.Lock()
		defer failMu.Unlock()
		fmt.Fprintf(stderr, "stacfs: prefetch %s: %v\n", path, err)
	}
	p := &prefetchProgress{start: time.Now()}
	stopProgress := startProgress(p, stdout)
	runPrefetch(ctx, *jobs, p, fail, readAll, func(emit func(prefetchFile) bool) {
		walkPrefetch(pos, func(path string, err error) { p.failed.Add(1); fail(path, err) }, emit)
	})
	stopProgress()

	el := time.Since(p.start)
	mib := float64(p.bytes.Load()) / (1 << 20)
	fmt.Fprintf(stdout, "prefetched %d file%s, %.1f MiB in %s (%.1f MiB/s), %d failed\n",
		p.ok.Load(), plural(int(p.ok.Load())), mib, el.Round(100*time.Millisecond), mib/max(el.Seconds(), 1e-3), p.failed.Load())
	if n := p.failed.Load(); n > 0 {
		return fmt.Errorf("prefetch: %d failed", n)
	}
	return ctx.Err()
}

// runPrefetch reads the files walk finds with jobs workers. The walk only
// lists: each file's stat (which may make a request: an asset without
// file:size) runs in the worker that then reads it, so the stats run in
// parallel and the reads start with the first file found.
func runPrefetch(ctx context.Context, jobs int, p *prefetchProgress, fail func(string, error),
	read func(context.Context, string, []byte, *atomic.Int64) error, walk func(emit func(prefetchFile) bool)) {
	work := make(chan prefetchFile)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			buf := make([]byte, 1<<20)
			for f := range work {
				size, err := f.stat()
				if err != nil {
					p.failed.Add(1)
					fail(f.path, err)
					continue
				}
				p.files.Add(1)
				p.totalBytes.Add(size)
				if err := read(ctx, f.path, buf, &p.bytes); err != nil {
					p.failed.Add(1)
					fail(f.path, err)
				} else {
					p.ok.Add(1)
				}
				p.done.Add(1)
			}
		})
	}
	walk(func(f prefetchFile) bool {
		select {
		case work <- f:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(work)
	wg.Wait()
}

// inStacfs refuses a path outside a stacfs mount: reading it warms no
// cache of stacfs.
func inStacfs(path string) error {
	m, err := mountinfo.MountOf(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", errUsage, path, err)
	}
	if typ := mountinfo.FSType(m); typ != "fuse.stacfs" {
		return fmt.Errorf("%w: %s is not in a stacfs mount (it is on %s, a %s file system)", errUsage, path, m, typ)
	}
	return nil
}

// walkPrefetch gives emit the regular files under paths, in walk order,
// until emit returns false. It does not follow symbolic links (a link
// given on the command line is followed once: the user named it). It
// stats only the paths given; a file found by the walk is stat'ed by
// whoever reads it (prefetchFile.stat). A path whose stat fails with EFBIG
// (a stream longer than stream_stat_limit) is read all the same.
func walkPrefetch(paths []string, fail func(string, error), emit func(prefetchFile) bool) {
	for _, root := range paths {
		fi, err := os.Stat(root)
		if errors.Is(err, syscall.EFBIG) {
			if !emit(prefetchFile{path: root}) {
				return
			}
			continue
		}
		if err != nil {
			fail(root, err)
			continue
		}
		if !fi.IsDir() {
			if fi.Mode().IsRegular() && !emit(prefetchFile{path: root, size: fi.Size()}) {
				return
			}
			continue
		}
		walkRoot := root
		if fi, err := os.Lstat(root); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			walkRoot = root + string(filepath.Separator) // walk the link's target
		}
		stopped := false
		err = filepath.WalkDir(walkRoot, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				fail(path, err)
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() && path != walkRoot && zipView(path) {
				return fs.SkipDir // its bytes are the zip file's, read beside it
			}
			if !d.Type().IsRegular() {
				return nil // folders, symlinks (never followed), devices
			}
			if !emit(prefetchFile{path: path, info: d.Info}) {
				stopped = true
				return fs.SkipAll
			}
			return nil
		})
		if err != nil {
			fail(root, err)
		}
		if stopped {
			return
		}
	}
}

// readAll reads a file to its end, discarding the bytes.
func readAll(ctx context.Context, path string, buf []byte, n *atomic.Int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := f.Read(buf)
		n.Add(int64(k))
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// startProgress shows progress on w until the returned stop is called: one
// updating line on a terminal, otherwise a line every few seconds.
func startProgress(p *prefetchProgress, w io.Writer) (stop func()) {
	tty := isTerminal(w)
	every := 5 * time.Second
	if tty {
		every = 250 * time.Millisecond
	}
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				if tty {
					fmt.Fprint(w, "\r\x1b[K")
				}
				return
			case <-t.C:
				if tty {
					fmt.Fprint(w, "\r\x1b[K"+p.line())
				} else {
					fmt.Fprintln(w, p.line())
				}
			}
		}
	}()
	return func() { close(quit); <-exited }
}

// line is one progress report.
func (p *prefetchProgress) line() string {
	el := time.Since(p.start).Seconds()
	b := p.bytes.Load()
	rate := float64(b) / max(el, 1e-3)
	eta := "?"
	total := p.totalBytes.Load()
	if rate > 0 && total >= b {
		eta = time.Duration(float64(total-b) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%.1f/%.1f MiB  %.1f MiB/s  ETA %s  files %d/%d",
		float64(b)/(1<<20), float64(total)/(1<<20), rate/(1<<20), eta, p.done.Load(), p.files.Load())
}

// zipView reports whether the folder at path is the folder view of a zip
// file beside it (NAME for NAME.zip, NAME.zip.d, NAME.d: see
// docs/semantics.md): prefetch reads the zip file, not its members again.
func zipView(path string) bool {
	var zip string
	switch {
	case strings.HasSuffix(path, ".zip.d"):
		zip = strings.TrimSuffix(path, ".d")
	case strings.HasSuffix(path, ".d"):
		zip = strings.TrimSuffix(path, ".d")
	default:
		if _, err := os.Lstat(path + ".zip.d"); err == nil {
			return false // NAME was taken by a real folder: the view is NAME.zip.d
		}
		zip = path + ".zip"
	}
	fi, err := os.Lstat(zip)
	return err == nil && fi.Mode().IsRegular()
}
