package cache

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// An arena is block memory held in memfd files (shared memory, outside the
// Go heap), each mapped once into the process. Fetches write into it with
// pwrite, through the file, and readers read it through the mapping.
//
// Why: block memory is written once and read many times, and it is the
// process's first touch of it that costs. Through the file the kernel
// allocates and fills the pages in one step; through fresh anonymous
// memory every page is a fault first, which on paravirtualised VMs (and
// with the host reclaiming freed guest pages) costs 1.5–3 ms per MiB, more
// than a whole loopback copy. Memory is also returned exactly when the last
// block of a buffer goes (the range is punched out of the file), not when
// the garbage collector and the scavenger get to it.
//
// Each of the arena's files is cut into segments; a file hands out extents
// from its current segment by bumping an offset, and moves on to a segment
// with no live extent when it is full. An extent never spans two segments.
// Several files spread concurrent writers over several inode locks.
type arena struct {
	files []*arenaFile
	next  atomic.Uint32
}

// arenaFile is one memfd file of an arena and its mapping.
type arenaFile struct {
	f   *os.File
	mem []byte // the mapping of the whole file
	seg int64  // segment size

	mu   sync.Mutex
	live []int // extents live per segment
	cur  int   // segment being filled
	off  int64 // next free offset in it
}

// extent is memory handed out by an arena (nil file: none).
type extent struct {
	file *arenaFile
	off  int64
	n    int64 // rounded up to whole pages
}

const (
	arenaFiles    = 8
	arenaSegments = 32
	pageSize      = 4096
)

// newArena returns an arena for a memory budget: its files together map
// four times the budget (virtual address space only), so that extents of
// buffers still pinned never stop allocation. It fails where memfd files
// cannot be made or mapped; the cache then uses the Go heap.
func newArena(budget int64) (*arena, error) {
	size := max(256<<20, (budget*4/arenaFiles+pageSize-1)/pageSize*pageSize)
	seg := (size/arenaSegments + pageSize - 1) / pageSize * pageSize
	size = seg * arenaSegments
	a := &arena{}
	for range arenaFiles {
		fd, err := unix.MemfdCreate("stacfs-cache", unix.MFD_CLOEXEC)
		if err != nil {
			a.close()
			return nil, fmt.Errorf("cache: memfd_create: %w", err)
		}
		f := os.NewFile(uintptr(fd), "stacfs-cache")
		if err := f.Truncate(size); err != nil {
			f.Close()
			a.close()
			return nil, fmt.Errorf("cache: size memfd: %w", err)
		}
		mem, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
		if err != nil {
			f.Close()
			a.close()
			return nil, fmt.Errorf("cache: map memfd: %w", err)
		}
		a.files = append(a.files, &arenaFile{f: f, mem: mem, seg: seg, live: make([]int, arenaSegments)})
	}
	return a, nil
}

// close unmaps and closes the arena's files. No memory of it may be used
// afterwards.
func (a *arena) close() {
	for _, af := range a.files {
		_ = unix.Munmap(af.mem)
		af.f.Close()
	}
	a.files = nil
}

// alloc returns n bytes of arena memory (zero when never written) and their
// extent, or ok false when the arena cannot give them (n larger than a
// segment, or every segment of the chosen file holds live extents).
func (a *arena) alloc(n int64) ([]byte, extent, bool) {
	if n <= 0 {
		return nil, extent{}, false
	}
	af := a.files[a.next.Add(1)%uint32(len(a.files))]
	size := (n + pageSize - 1) / pageSize * pageSize
	if size > af.seg {
		return nil, extent{}, false
	}
	af.mu.Lock()
	defer af.mu.Unlock()
	if af.off+size > af.seg {
		found := false
		for i := 1; i <= len(af.live); i++ {
			s := (af.cur + i) % len(af.live)
			if af.live[s] == 0 {
				af.cur, af.off, found = s, 0, true
				break
			}
		}
		if !found {
			return nil, extent{}, false
		}
	}
	e := extent{file: af, off: int64(af.cur)*af.seg + af.off, n: size}
	af.off += size
	af.live[af.cur]++
	return af.mem[e.off : e.off+n : e.off+n], e, true
}

// free gives e's memory back to the kernel and its range back to the
// arena. Nothing may read e's memory afterwards.
func (a *arena) free(e extent) {
	af := e.file
	if af == nil {
		return
	}
	// Best effort: a failure leaves the pages allocated until the range
	// is written again.
	_ = unix.Fallocate(int(af.f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, e.off, e.n)
	af.mu.Lock()
	s := int(e.off / af.seg)
	af.live[s]--
	if af.live[s] == 0 && s == af.cur {
		af.off = 0 // the current segment emptied: fill it again from the start
	}
	af.mu.Unlock()
}

// punch gives the pages of b, arena memory starting on a page, back to the
// kernel; the range stays allocated (free gives it back). b is rounded up
// to whole pages: the memory up to the next page must be b's own.
func (a *arena) punch(b []byte) {
	af, off, ok := a.fileOf(b)
	if !ok || off%pageSize != 0 {
		return
	}
	n := (int64(len(b)) + pageSize - 1) / pageSize * pageSize
	_ = unix.Fallocate(int(af.f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
}

// ok reports whether e is arena memory.
func (e extent) ok() bool { return e.file != nil }

// fileOf returns the arena file whose mapping holds b's first byte, and its
// offset there.
func (a *arena) fileOf(b []byte) (*arenaFile, int64, bool) {
	if len(b) == 0 {
		return nil, 0, false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	for _, af := range a.files {
		base := uintptr(unsafe.Pointer(unsafe.SliceData(af.mem)))
		if p >= base && p < base+uintptr(len(af.mem)) {
			return af, int64(p - base), true
		}
	}
	return nil, 0, false
}

// contains reports whether b is arena memory.
func (a *arena) contains(b []byte) bool {
	_, _, ok := a.fileOf(b)
	return ok
}

// put copies src into dst, which is len(src) bytes of memory: through the
// file (pwrite) when dst is arena memory, else with copy.
func (a *arena) put(dst, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	if len(dst) < len(src) {
		return fmt.Errorf("cache: put %d bytes into %d", len(src), len(dst))
	}
	af, off, ok := a.fileOf(dst)
	if !ok {
		copy(dst, src)
		return nil
	}
	if _, err := af.f.WriteAt(src, off); err != nil {
		return fmt.Errorf("cache: write arena: %w", err)
	}
	mapIn(dst[:len(src)])
	return nil
}

// mapIn maps the pages of b, already filled through the file, into the
// process in one call (MADV_POPULATE_READ, Linux 5.14), so that reading
// them takes no page fault each. Best effort.
func mapIn(b []byte) {
	if len(b) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := start &^ (pageSize - 1)
	hi := (start + uintptr(len(b)) + pageSize - 1) &^ (pageSize - 1)
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_POPULATE_READ)
}
