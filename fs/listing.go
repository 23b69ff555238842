package fs

import (
	"context"
	"sort"
	"sync"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// listing is one version of a folder's children, sorted by name. It is a
// view over the catalog's own (cached) data: making it costs nothing per
// child. READDIR reads names and modes; LOOKUP finds one name by binary
// search and builds that child only, so a lookup in a folder of n entries
// costs O(log n), and listing it O(n).
type listing struct {
	// ver identifies the catalog data shown (a pointer into the catalog's
	// cached list): equal vers have the same children.
	ver   any
	n     int
	name  func(i int) string
	mode  func(i int) uint32
	child func(i int) child
}

// find returns the index of name, or -1.
func (l *listing) find(name string) int {
	i := sort.Search(l.n, func(i int) bool { return l.name(i) >= name })
	if i < l.n && l.name(i) == name {
		return i
	}
	return -1
}

// sliceVer is the version of a listing over the catalog's cached slice s:
// the catalog hands out the same slice until it lists the folder again.
func sliceVer[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

// childListing is a listing over children built up front (small, static
// folders: the root, the views folder).
func childListing(ver any, kids []child) listing {
	return listing{
		ver:   ver,
		n:     len(kids),
		name:  func(i int) string { return kids[i].name },
		mode:  func(i int) uint32 { return kids[i].node.mode() },
		child: func(i int) child { return kids[i] },
	}
}

// dirEntries is a folder's READDIR answer, kept for one version of its
// listing, so that listing a folder again (within the catalog's TTL)
// builds nothing.
type dirEntries struct {
	mu      sync.Mutex // protects the following
	have    bool
	ver     any
	entries []fuse.DirEntry
}

// get returns the entries of l, built once per version.
func (e *dirEntries) get(path string, l listing) []fuse.DirEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.have && e.ver == l.ver && len(e.entries) == l.n {
		return e.entries
	}
	entries := make([]fuse.DirEntry, l.n)
	for i := range entries {
		name := l.name(i)
		entries[i] = fuse.DirEntry{Name: name, Mode: l.mode(i), Ino: ino(join(path, name))}
	}
	e.have, e.ver, e.entries = true, l.ver, entries
	return entries
}

// current reports whether whatever the kernel may hold of this folder's
// listing is of l's version: the entries were built from it, or never
// built (the kernel never had them).
func (e *dirEntries) current(l listing) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.have || (e.ver == l.ver && len(e.entries) == l.n)
}

// claim reports whether a folder listed from ver (a day listing, whose
// entries are not built here) may open with the kernel's cache: the kernel
// holds nothing of this folder, or entries of ver. When it may hold
// another version, false: that open drops the kernel's copy, and the next
// one may keep ver.
// claim(nil) notes an open without the kernel's cache (which drops it).
func (e *dirEntries) claim(ver any) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ver == nil {
		e.have, e.ver, e.entries = false, nil, nil
		return false
	}
	if e.have && e.ver != ver {
		e.have, e.ver, e.entries = false, nil, nil
		return false
	}
	e.have, e.ver = true, ver
	return true
}

// readdir answers READDIR from the cached entries.
func (d *dir) readdir(ctx context.Context) (fusefs.DirStream, syscall.Errno) {
	l, err := d.l.list(ctx)
	if err != nil {
		return nil, d.fs.failList("readdir", d.path, err)
	}
	return fusefs.NewListDirStream(d.cache.get(d.path, l)), 0
}
