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

// prefetchFile is one regular file to read.
type prefetchFile struct {
	path string
	size int64
}

// prefetchProgress counts what the workers have done.
type prefetchProgress struct {
	files, totalBytes int64 // fixed once the walk is over
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
	files := collectPrefetch(pos, func(path string, err error) { p.failed.Add(1); fail(path, err) })
	for _, f := range files {
		p.totalBytes += f.size
	}
	p.files = int64(len(files))

	stopProgress := startProgress(p, stdout)
	work := make(chan prefetchFile)
	var wg sync.WaitGroup
	for range min(*jobs, max(len(files), 1)) {
		wg.Go(func() {
			buf := make([]byte, 1<<20)
			for f := range work {
				if err := readAll(ctx, f.path, buf, &p.bytes); err != nil {
					p.failed.Add(1)
					fail(f.path, err)
				} else {
					p.ok.Add(1)
				}
				p.done.Add(1)
			}
		})
	}
feed:
	for _, f := range files {
		select {
		case work <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
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

// collectPrefetch lists the regular files under paths. It does not follow
// symbolic links (a link given on the command line is followed once: the
// user named it). A file whose stat fails with EFBIG (a stream longer than
// stream_stat_limit) is listed all the same, its size counted as 0: it
// opens and reads, and once read whole its size is known.
func collectPrefetch(paths []string, fail func(string, error)) []prefetchFile {
	var files []prefetchFile
	for _, root := range paths {
		fi, err := os.Stat(root)
		if errors.Is(err, syscall.EFBIG) {
			files = append(files, prefetchFile{root, 0})
			continue
		}
		if err != nil {
			fail(root, err)
			continue
		}
		if !fi.IsDir() {
			if fi.Mode().IsRegular() {
				files = append(files, prefetchFile{root, fi.Size()})
			}
			continue
		}
		walkRoot := root
		if fi, err := os.Lstat(root); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			walkRoot = root + string(filepath.Separator) // walk the link's target
		}
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
			info, err := d.Info()
			if errors.Is(err, syscall.EFBIG) {
				files = append(files, prefetchFile{path, 0})
				return nil
			}
			if err != nil {
				fail(path, err)
				return nil
			}
			files = append(files, prefetchFile{path, info.Size()})
			return nil
		})
		if err != nil {
			fail(root, err)
		}
	}
	return files
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
	if rate > 0 && p.totalBytes >= b {
		eta = time.Duration(float64(p.totalBytes-b) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%.1f/%.1f MiB  %.1f MiB/s  ETA %s  files %d/%d",
		float64(b)/(1<<20), float64(p.totalBytes)/(1<<20), rate/(1<<20), eta, p.done.Load(), p.files)
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
