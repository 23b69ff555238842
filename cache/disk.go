package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Layout of a block file: header, payload, footer. Integers are little
// endian.
const (
	headerMagic = "stacfsB1"
	footerMagic = "stacfsE1"
	// magic, key hash, block index, block size, payload length
	headerLen = len(headerMagic) + sha256.Size + 8 + 8 + 8
	// CRC-32C of the payload, magic
	footerLen = 4 + len(footerMagic)

	blockExt = ".blk"
	tmpMark  = ".tmp" // in the names of files being written
	lockName = "LOCK"

	// diskQueueBytes bounds the bytes of blocks waiting to be written (at
	// least 4 blocks are queued). They are held in addition to Memory.
	diskQueueBytes = 16 << 20
	// touchAfter is the age of a block file's mtime after which a hit
	// refreshes it.
	touchAfter = time.Minute
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt is the cause of a block file that fails its checks.
var errCorrupt = errors.New("corrupt block file")

// fileSize returns the size of the file of a block of n bytes.
func fileSize(n int64) int64 { return int64(headerLen) + n + int64(footerLen) }

// diskKey names a block file: the hash of the object key and block index.
type diskKey struct {
	sum [sha256.Size]byte
	idx int64
}

// diskWrite is a block waiting in the write queue.
type diskWrite struct {
	k    diskKey
	data []byte // immutable, possibly shared with the memory tier
}

// disk is the disk tier of a Cache (Options.DiskDir). Every block fetched
// from the network (or primed, or evicted from memory before it reached the
// disk) is queued to be written to a file of its own, and a block missing
// from memory is read from its file before the network is asked. Writes are
// asynchronous, by one goroutine from a bounded queue (a block that finds it
// full is offered again when evicted from memory); reads are synchronous.
//
// A block file is DiskDir/hh/hh/<sha256(Key)>-<index>.blk: a header (magic,
// key hash, block index, block size, payload length), the payload, and a
// footer (CRC-32C of the payload, magic), written to a temporary file and
// renamed. A torn, short or altered file fails the checks when read, is
// deleted and its block fetched again: it is never served. Files are not
// fsynced. The index (size and recency of every file) is rebuilt by New from
// a scan ordered by modification time (a hit refreshes it at most once a
// minute); files are evicted least recently used first to keep within
// Options.DiskBytes. A LOCK file held with flock(2) from New until Close
// keeps two caches out of one directory.
//
// Files are written and evicted only by the writer goroutine
// (Cache.diskWriter); a reader that finds a file unusable removes it.
type disk struct {
	// Read only after openDisk.
	dir    string
	budget int64
	bs     int64
	log    *slog.Logger
	lock   *os.File // holds flock(LOCK_EX) on DiskDir/LOCK
	queue  chan diskWrite
	done   chan struct{} // closed when the writer has returned

	// Guarded by Cache.mu.
	idx    *simplelru.LRU[diskKey, int64] // block files and their sizes, least recently used first
	bytes  int64                          // sum of the sizes in idx
	queued map[diskKey]bool               // in the queue or being written
	closed bool                           // Close was called: no reads, no sends on queue
}

// openDisk locks dir (creating it) and indexes the block files in it,
// removing leftover temporary files and, oldest first, the files beyond
// budget. It returns the number of files so evicted.
func openDisk(dir string, budget, bs int64, log *slog.Logger) (*disk, int64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, fmt.Errorf("cache: disk dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("cache: disk dir: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := io.ReadAll(io.LimitReader(lock, 32)); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = fmt.Sprintf(" (process %d)", pid)
			}
		}
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, 0, fmt.Errorf("cache: disk dir %s is in use by another mount%s: give each mount its own cache dir", dir, holder)
		}
		return nil, 0, fmt.Errorf("cache: disk dir %s: lock: %w", dir, err)
	}
	// Who holds the lock, for the message of a mount that finds it held.
	if err := lock.Truncate(0); err == nil {
		_, _ = lock.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	idx, err := simplelru.NewLRU[diskKey, int64](math.MaxInt, nil)
	if err != nil {
		lock.Close()
		return nil, 0, fmt.Errorf("cache: new disk lru: %w", err)
	}
	d := &disk{
		dir:    dir,
		budget: budget,
		bs:     bs,
		log:    log,
		lock:   lock,
		queue:  make(chan diskWrite, max(4, diskQueueBytes/bs)),
		done:   make(chan struct{}),
		idx:    idx,
		queued: make(map[diskKey]bool),
	}
	var evicted int64
	for _, f := range d.scan() {
		d.idx.Add(f.k, f.size)
		d.bytes += f.size
	}
	for d.bytes > d.budget {
		k, size, _ := d.idx.RemoveOldest()
		d.bytes -= size
		evicted++
		d.remove(k)
	}
	return d, evicted, nil
}

// scannedFile is a block file found by scan.
type scannedFile struct {
	k     diskKey
	size  int64
	mtime time.Time
}

// scan lists the block files under d.dir, oldest first, and removes the
// temporary files it meets. Files that are not ours are left alone.
func (d *disk) scan() []scannedFile {
	var files []scannedFile
	for _, l1 := range readDirs(d.dir) {
		for _, l2 := range readDirs(filepath.Join(d.dir, l1)) {
			sub := filepath.Join(d.dir, l1, l2)
			entries, err := os.ReadDir(sub)
			if err != nil {
				d.log.Debug("cache disk scan", "err", err)
				continue
			}
			for _, e := range entries {
				name := e.Name()
				if strings.Contains(name, tmpMark) {
					if err := os.Remove(filepath.Join(sub, name)); err != nil {
						d.log.Debug("cache disk scan: remove temporary file", "err", err)
					}
					continue
				}
				k, ok := parseName(name)
				if !ok || !e.Type().IsRegular() || !strings.HasPrefix(name, l1+l2) {
					continue
				}
				info, err := e.Info()
				if err != nil {
					continue
				}
				files = append(files, scannedFile{k, info.Size(), info.ModTime()})
			}
		}
	}
	slices.SortStableFunc(files, func(a, b scannedFile) int { return a.mtime.Compare(b.mtime) })
	return files
}

// readDirs returns the names of the subfolders of dir named by two
// lower-case hex digits, sorted.
func readDirs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); e.IsDir() && len(n) == 2 && isHex(n) {
			names = append(names, n)
		}
	}
	return names
}

func isHex(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// name returns the file name of the block file of k.
func name(k diskKey) string {
	return hex.EncodeToString(k.sum[:]) + "-" + fmt.Sprintf("%016x", uint64(k.idx)) + blockExt
}

// parseName is the inverse of name.
func parseName(s string) (diskKey, bool) {
	var k diskKey
	h, rest, ok := strings.Cut(strings.TrimSuffix(s, blockExt), "-")
	if !ok || len(s) != 2*sha256.Size+1+16+len(blockExt) || !strings.HasSuffix(s, blockExt) || !isHex(h) || !isHex(rest) {
		return k, false
	}
	if _, err := hex.Decode(k.sum[:], []byte(h)); err != nil {
		return k, false
	}
	idx, err := strconv.ParseUint(rest, 16, 64)
	if err != nil || idx > math.MaxInt64 {
		return k, false
	}
	k.idx = int64(idx)
	return k, true
}

// path returns the path of the block file of k.
func (d *disk) path(k diskKey) string {
	n := name(k)
	return filepath.Join(d.dir, n[:2], n[2:4], n)
}

// remove deletes the block file of k, if any.
func (d *disk) remove(k diskKey) {
	if err := os.Remove(d.path(k)); err != nil && !errors.Is(err, os.ErrNotExist) {
		d.log.Debug("cache disk: remove block file", "err", err)
	}
}

// unlock releases DiskDir.
func (d *disk) unlock() error {
	if err := d.lock.Close(); err != nil {
		return fmt.Errorf("cache: release disk dir: %w", err)
	}
	return nil
}

// header returns the header of the block file of k holding n bytes.
func (d *disk) header(k diskKey, n int) []byte {
	b := make([]byte, 0, headerLen)
	b = append(b, headerMagic...)
	b = append(b, k.sum[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(k.idx))
	b = binary.LittleEndian.AppendUint64(b, uint64(d.bs))
	b = binary.LittleEndian.AppendUint64(b, uint64(n))
	return b
}

// footer returns the footer of a block file holding payload.
func footer(payload []byte) []byte {
	b := make([]byte, 0, footerLen)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, castagnoli))
	return append(b, footerMagic...)
}

// write stores data as the block file of k: a temporary file in the same
// folder, renamed when complete. It returns the size of the file.
func (d *disk) write(k diskKey, data []byte) (size int64, err error) {
	p := d.path(k)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(dir, filepath.Base(p)+tmpMark+"*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	for _, b := range [][]byte{d.header(k, len(data)), data, footer(data)} {
		if _, err := f.Write(b); err != nil {
			return 0, err
		}
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return 0, err
	}
	return fileSize(int64(len(data))), nil
}

// read fills p, which must have the length of the block, from the block file
// of k, checking every field of header and footer, and returns the file's
// modification time. Any mismatch is errCorrupt.
func (d *disk) read(k diskKey, p []byte) (time.Time, error) {
	f, err := os.Open(d.path(k))
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return time.Time{}, err
	}
	if info.Size() != fileSize(int64(len(p))) {
		return time.Time{}, fmt.Errorf("%w: %d bytes, want %d", errCorrupt, info.Size(), fileSize(int64(len(p))))
	}
	var hdr [headerLen]byte
	var ftr [footerLen]byte
	for _, b := range [][]byte{hdr[:], p, ftr[:]} {
		if _, err := io.ReadFull(f, b); err != nil {
			return time.Time{}, fmt.Errorf("%w: %w", errCorrupt, err)
		}
	}
	switch {
	case !bytes.Equal(hdr[:], d.header(k, len(p))):
		return time.Time{}, fmt.Errorf("%w: header does not match block %d", errCorrupt, k.idx)
	case !bytes.Equal(ftr[:], footer(p)):
		return time.Time{}, fmt.Errorf("%w: checksum or footer mismatch", errCorrupt)
	}
	return info.ModTime(), nil
}

// queueDisk offers data, block k, to the disk writer unless its file
// exists or it is queued already. It never blocks: when the queue is full
// the block is not written now. c.mu must be held.
func (c *Cache) queueDisk(k diskKey, data []byte) {
	d := c.disk
	// Sends happen under c.mu only, so a queue with room keeps it.
	if d.closed || d.queued[k] || d.idx.Contains(k) || len(d.queue) == cap(d.queue) {
		return
	}
	if c.arena != nil && c.arena.contains(data) {
		data = append([]byte(nil), data...) // arena memory goes with its blocks
	}
	select {
	case d.queue <- diskWrite{k, data}:
		d.queued[k] = true
	default:
	}
}

// dropDiskFile forgets and removes the block file of k, found unusable.
func (c *Cache) dropDiskFile(k diskKey) {
	d := c.disk
	c.mu.Lock()
	if size, ok := d.idx.Peek(k); ok {
		d.idx.Remove(k)
		d.bytes -= size
	}
	closed := d.closed
	c.mu.Unlock()
	if !closed { // else DiskDir may belong to another cache now
		d.remove(k)
	}
}

// diskWriter writes the queued blocks until the queue is closed, then closes
// d.done. It is the only writer of block files and evicts the least recently
// used ones beyond the budget.
func (c *Cache) diskWriter() {
	d := c.disk
	defer close(d.done)
	for w := range d.queue {
		c.mu.Lock()
		exists := d.idx.Contains(w.k)
		c.mu.Unlock()
		var size int64
		var err error
		if !exists {
			size, err = d.write(w.k, w.data)
			if err != nil {
				c.log.Debug("cache disk: write block file", "block", w.k.idx, "err", err)
			}
		}
		var victims []diskKey
		c.mu.Lock()
		delete(d.queued, w.k)
		if !exists && err == nil {
			if old, ok := d.idx.Peek(w.k); ok {
				d.bytes -= old
			}
			d.idx.Add(w.k, size)
			d.bytes += size
			c.stats.DiskWrites++
			for d.bytes > d.budget {
				k, size, ok := d.idx.RemoveOldest()
				if !ok {
					break
				}
				d.bytes -= size
				c.stats.DiskEvictions++
				victims = append(victims, k)
			}
		}
		c.mu.Unlock()
		for _, k := range victims {
			d.remove(k)
		}
	}
}

// diskKeys returns the keys of the disk index, least recently used first
// (for tests).
func (c *Cache) diskKeys() []diskKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.disk.idx.Keys())
}
