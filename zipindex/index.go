// Package zipindex lists a zip archive from its end and reads its members,
// over any ranged reader (the block cache's, in stacfs): it knows nothing
// of FUSE or HTTP.
//
// Listing reads the end of central directory record (Zip64 included) and
// the central directory: one read of the archive's tail, and a second one
// when the directory starts before that tail. archive/zip parses both (names,
// sizes, times, flags); this package only finds them and each member's
// local header offset. Reading a member reads its local header once, then
// its data: a stored member is a plain range of the archive; a deflated one
// is decompressed as a stream with checkpoints (see Deflated).
package zipindex

import (
	"archive/zip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// ReaderAt reads bytes of an archive.
type ReaderAt interface {
	ReadAt(ctx context.Context, p []byte, off int64) (int, error)
}

var (
	// ErrFormat means the bytes are not a zip archive (or a damaged one).
	ErrFormat = errors.New("not a valid zip archive")
	// ErrEncrypted means a member is encrypted: it is listed, not read.
	ErrEncrypted = errors.New("zip member is encrypted")
	// ErrMethod means a member's compression method is neither stored
	// nor deflate.
	ErrMethod = errors.New("zip member's compression method is not supported")
	// ErrChecksum means a member's bytes do not match its CRC-32.
	ErrChecksum = errors.New("zip member's checksum does not match")
)

// Member is one entry of an archive's central directory.
type Member struct {
	Name           string // as the archive spells it (slash-separated)
	Dir            bool   // a folder entry (name ending in '/')
	Size           int64  // uncompressed
	CompressedSize int64
	Modified       time.Time
	Method         uint16 // zip.Store or zip.Deflate (others are listed, not read)
	Encrypted      bool
	CRC32          uint32

	header int64        // offset of the local file header
	data   atomic.Int64 // offset of the data once the local header is read (0: not yet)

	points checkpoints // deflated members: where decompression can resume
}

// Index is an archive's member list.
type Index struct {
	Size    int64 // the archive's size
	Members []*Member
}

// tailSize is how much of the archive's end the first read takes: the end
// of central directory record with a comment of up to ~64 KiB, the Zip64
// locator and record, and the central directory of most products.
const tailSize = 128 << 10

// maxDirectory bounds the central directory read into memory.
const maxDirectory = 512 << 20

// Read lists the archive of the given size that r reads.
func Read(ctx context.Context, r ReaderAt, size int64) (*Index, error) {
	tailOff := max(size-tailSize, 0)
	tail := make([]byte, size-tailOff)
	if err := readFull(ctx, r, tail, tailOff); err != nil {
		return nil, fmt.Errorf("read zip end: %w", err)
	}
	cdStart, cdSize, base, err := locateDirectory(ctx, r, tail, tailOff, size)
	if err != nil {
		return nil, err
	}
	memOff, mem := tailOff, tail
	if cdStart < tailOff {
		head := make([]byte, tailOff-cdStart)
		if err := readFull(ctx, r, head, cdStart); err != nil {
			return nil, fmt.Errorf("read zip central directory: %w", err)
		}
		memOff, mem = cdStart, append(head, tail...)
	}
	zr, err := zip.NewReader(memReader{mem, memOff}, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are sanitised by the caller
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	offsets, err := headerOffsets(mem[cdStart-memOff:cdStart-memOff+cdSize], base)
	if err != nil {
		return nil, err
	}
	if len(offsets) != len(zr.File) {
		return nil, fmt.Errorf("%w: central directory holds %d entries, archive/zip read %d", ErrFormat, len(offsets), len(zr.File))
	}
	ix := &Index{Size: size, Members: make([]*Member, len(zr.File))}
	for i, f := range zr.File {
		m := &Member{
			Name:           f.Name,
			Dir:            len(f.Name) > 0 && f.Name[len(f.Name)-1] == '/',
			Size:           int64(f.UncompressedSize64),
			CompressedSize: int64(f.CompressedSize64),
			Modified:       f.Modified,
			Method:         f.Method,
			Encrypted:      f.Flags&0x1 != 0,
			CRC32:          f.CRC32,
			header:         offsets[i],
		}
		if m.Size < 0 || m.CompressedSize < 0 || m.header < 0 || m.header >= size {
			return nil, fmt.Errorf("%w: member %q has impossible sizes or offset", ErrFormat, f.Name)
		}
		ix.Members[i] = m
	}
	return ix, nil
}

const (
	sigEnd         = 0x06054b50
	sigEnd64       = 0x06064b50
	sigEnd64Locate = 0x07064b50
	sigDirectory   = 0x02014b50
	sigLocal       = 0x04034b50
)

// locateDirectory finds the central directory from the end records in
// tail (the archive's bytes from tailOff to its end): its start, its size,
// and the offset that the archive's own offsets are relative to (non-zero
// for archives with a prefix, such as self-extracting ones).
func locateDirectory(ctx context.Context, r ReaderAt, tail []byte, tailOff, size int64) (start, n, base int64, err error) {
	p := -1
	for i := len(tail) - 22; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) == sigEnd && i+22+int(binary.LittleEndian.Uint16(tail[i+20:])) <= len(tail) {
			p = i
			break
		}
	}
	if p < 0 {
		return 0, 0, 0, fmt.Errorf("%w: no end of central directory record in the last %d bytes", ErrFormat, len(tail))
	}
	end := tail[p:]
	records := uint64(binary.LittleEndian.Uint16(end[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(end[12:]))
	dirOff := uint64(binary.LittleEndian.Uint32(end[16:]))
	endOff := tailOff + int64(p)
	if records == 0xffff || dirSize == 0xffffffff || dirOff == 0xffffffff {
		if p >= 20 && binary.LittleEndian.Uint32(tail[p-20:]) == sigEnd64Locate {
			at := int64(binary.LittleEndian.Uint64(tail[p-20+8:]))
			rec := make([]byte, 56)
			if at < 0 || at+56 > size {
				return 0, 0, 0, fmt.Errorf("%w: Zip64 end record out of the archive", ErrFormat)
			}
			if at >= tailOff && at+56 <= tailOff+int64(len(tail)) {
				copy(rec, tail[at-tailOff:])
			} else if err := readFull(ctx, r, rec, at); err != nil {
				return 0, 0, 0, fmt.Errorf("read Zip64 end record: %w", err)
			}
			if binary.LittleEndian.Uint32(rec) != sigEnd64 {
				return 0, 0, 0, fmt.Errorf("%w: no Zip64 end record where the locator points", ErrFormat)
			}
			dirSize = binary.LittleEndian.Uint64(rec[40:])
			dirOff = binary.LittleEndian.Uint64(rec[48:])
			endOff = at
		}
	}
	if dirSize > maxDirectory || dirOff > uint64(size) || int64(dirSize) > endOff {
		return 0, 0, 0, fmt.Errorf("%w: central directory of %d bytes at %d in %d", ErrFormat, dirSize, dirOff, size)
	}
	start = endOff - int64(dirSize)
	base = start - int64(dirOff)
	if base < 0 {
		return 0, 0, 0, fmt.Errorf("%w: central directory offset %d past its end record", ErrFormat, dirOff)
	}
	if base > 0 {
		// As archive/zip: when the directory also parses at its stated
		// offset, that offset is right (some writers get the end wrong).
		var sig [4]byte
		if err := readFull(ctx, r, sig[:], int64(dirOff)); err == nil && binary.LittleEndian.Uint32(sig[:]) == sigDirectory {
			base, start = 0, int64(dirOff)
		}
	}
	return start, int64(dirSize), base, nil
}

// headerOffsets walks the central directory for each entry's local header
// offset (archive/zip keeps it unexported), Zip64 extra field included.
func headerOffsets(cd []byte, base int64) ([]int64, error) {
	var out []int64
	for len(cd) >= 46 && binary.LittleEndian.Uint32(cd) == sigDirectory {
		csize := binary.LittleEndian.Uint32(cd[20:])
		usize := binary.LittleEndian.Uint32(cd[24:])
		nameLen := int(binary.LittleEndian.Uint16(cd[28:]))
		extraLen := int(binary.LittleEndian.Uint16(cd[30:]))
		commentLen := int(binary.LittleEndian.Uint16(cd[32:]))
		off := uint64(binary.LittleEndian.Uint32(cd[42:]))
		if 46+nameLen+extraLen+commentLen > len(cd) {
			return nil, fmt.Errorf("%w: central directory entry past its end", ErrFormat)
		}
		if off == 0xffffffff {
			extra := cd[46+nameLen : 46+nameLen+extraLen]
			for len(extra) >= 4 {
				tag, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
				if 4+n > len(extra) {
					break
				}
				if tag == 0x0001 {
					f := extra[4 : 4+n]
					skip := 0
					if usize == 0xffffffff {
						skip += 8
					}
					if csize == 0xffffffff {
						skip += 8
					}
					if len(f) >= skip+8 {
						off = binary.LittleEndian.Uint64(f[skip:])
					}
					break
				}
				extra = extra[4+n:]
			}
		}
		out = append(out, int64(off)+base)
		cd = cd[46+nameLen+extraLen+commentLen:]
	}
	return out, nil
}

// DataOffset returns where the member's data starts in the archive,
// reading its local header the first time.
func (m *Member) DataOffset(ctx context.Context, r ReaderAt) (int64, error) {
	if d := m.data.Load(); d > 0 {
		return d, nil
	}
	var h [30]byte
	if err := readFull(ctx, r, h[:], m.header); err != nil {
		return 0, fmt.Errorf("read local header of %q: %w", m.Name, err)
	}
	if binary.LittleEndian.Uint32(h[:]) != sigLocal {
		return 0, fmt.Errorf("%w: no local header for %q at %d", ErrFormat, m.Name, m.header)
	}
	d := m.header + 30 + int64(binary.LittleEndian.Uint16(h[26:])) + int64(binary.LittleEndian.Uint16(h[28:]))
	m.data.Store(d)
	return d, nil
}

// Readable tells why a member cannot be read (encrypted, unknown method),
// or nil.
func (m *Member) Readable() error {
	switch {
	case m.Encrypted:
		return fmt.Errorf("%q: %w", m.Name, ErrEncrypted)
	case m.Method != zip.Store && m.Method != zip.Deflate:
		return fmt.Errorf("%q (method %d): %w", m.Name, m.Method, ErrMethod)
	}
	return nil
}

// memReader serves archive/zip the bytes read into memory; it never reads
// anything else.
type memReader struct {
	b   []byte
	off int64
}

func (m memReader) ReadAt(p []byte, off int64) (int, error) {
	if off < m.off || off-m.off > int64(len(m.b)) {
		return 0, fmt.Errorf("%w: archive/zip read at %d, outside the directory", ErrFormat, off)
	}
	n := copy(p, m.b[off-m.off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readFull reads len(p) bytes at off.
func readFull(ctx context.Context, r ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(ctx, p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}
