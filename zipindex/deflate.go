package zipindex

import (
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"sync"

	"github.com/stacfs/stacfs/zipindex/inflate"
)

// CheckpointEvery is how much output lies between two checkpoints of a
// deflated member: a seek decompresses at most this much (plus one block)
// before the bytes asked for. Each checkpoint keeps 32 KiB.
var CheckpointEvery int64 = 4 << 20

// checkpoint is a block start inside a deflated member: decompression can
// resume there with the 32 KiB of output before it.
type checkpoint struct {
	out    int64  // bytes of output before the block
	bit    int64  // bit offset of the block in the member's data
	window []byte // the output's last 32 KiB before the block
	crc    uint32 // CRC-32 of the output before the block
}

// checkpoints are a member's checkpoints, shared by its readers, sorted by
// out. The member's start is implicit.
type checkpoints struct {
	mu   sync.Mutex
	list []checkpoint
}

// before returns the last checkpoint at or before off (the start when none).
func (c *checkpoints) before(off int64) checkpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := sort.Search(len(c.list), func(i int) bool { return c.list[i].out > off })
	if i == 0 {
		return checkpoint{}
	}
	return c.list[i-1]
}

// last returns the output offset of the last checkpoint (0 when none).
func (c *checkpoints) last() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.list) == 0 {
		return 0
	}
	return c.list[len(c.list)-1].out
}

func (c *checkpoints) add(p checkpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := sort.Search(len(c.list), func(i int) bool { return c.list[i].out >= p.out })
	if i < len(c.list) && c.list[i].out == p.out {
		return
	}
	c.list = append(c.list, checkpoint{})
	copy(c.list[i+1:], c.list[i:])
	c.list[i] = p
}

// Checkpoints returns how many checkpoints a member has (for tests and logs).
func (m *Member) Checkpoints() int {
	m.points.mu.Lock()
	defer m.points.mu.Unlock()
	return len(m.points.list)
}

// Deflated reads a deflated member at any offset. It keeps one
// decompressor: reads that go forward continue it; a read behind it, or
// far ahead of it, restarts from the nearest checkpoint. Checkpoints are
// recorded as decompression passes them and shared by all readers of the
// member. The CRC-32 is checked whenever decompression reaches the end.
// The last few MiB of output are kept, so that reads that arrive a little
// out of order (parallel reads of one handle) do not restart
// decompression. A Deflated is safe for concurrent use; its reads are
// served one by one.
type Deflated struct {
	mu   sync.Mutex
	m    *Member
	r    ReaderAt
	data int64 // offset of the member's data in the archive

	z     *inflate.Reader
	in    *input
	start int64  // output offset where z started
	pos   int64  // output offset of z
	crc   uint32 // CRC-32 of the output before pos
	buf   []byte // scratch for skipping

	recent    []byte // the output just before pos
	recentOff int64  // output offset of recent[0]
}

// keepRecent is how much output before the decompressor's position is kept.
const keepRecent = 4 << 20

// OpenDeflated returns a reader of a deflated member.
func (m *Member) OpenDeflated(ctx context.Context, r ReaderAt) (*Deflated, error) {
	if err := m.Readable(); err != nil {
		return nil, err
	}
	if m.Method != 8 {
		return nil, fmt.Errorf("%q is not deflated", m.Name)
	}
	d, err := m.DataOffset(ctx, r)
	if err != nil {
		return nil, err
	}
	return &Deflated{m: m, r: r, data: d}, nil
}

// skipLimit is how far ahead of the decompressor a read may be and still
// continue it rather than jump to a nearer checkpoint.
const skipLimit = 1 << 20

// ReadAt reads len(p) bytes at off (fewer at the end, with io.EOF).
func (d *Deflated) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off >= d.m.Size {
		return 0, io.EOF
	}
	if len(p) > int(d.m.Size-off) {
		p = p[:d.m.Size-off]
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.z != nil && off >= d.recentOff && off+int64(len(p)) <= d.pos {
		n := copy(p, d.recent[off-d.recentOff:])
		if n < len(p) || off+int64(n) == d.m.Size {
			return n, io.EOF
		}
		return n, nil
	}
	if d.z != nil && off >= d.recentOff && off < d.pos {
		// Partly behind: the kept part, then on from pos.
		k := copy(p, d.recent[off-d.recentOff:])
		n, err := d.readAtLocked(ctx, p[k:], d.pos)
		return k + n, err
	}
	return d.readAtLocked(ctx, p, off)
}

// readAtLocked is ReadAt with d.mu held.
func (d *Deflated) readAtLocked(ctx context.Context, p []byte, off int64) (int, error) {
	cp := d.m.points.before(off)
	if d.z == nil || off < d.pos || (cp.out > d.pos && off-d.pos > skipLimit) {
		if err := d.restart(ctx, cp); err != nil {
			return 0, err
		}
	}
	d.in.ctx = ctx
	defer func() { d.in.ctx = nil }()
	for d.pos < off {
		if d.buf == nil {
			d.buf = make([]byte, 64<<10)
		}
		n := min(int64(len(d.buf)), off-d.pos)
		if _, err := d.read(d.buf[:n]); err != nil {
			return 0, err
		}
	}
	n, err := d.read(p)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// read fills p from the decompressor (p does not pass the member's end).
// Position and CRC follow every Read of the decompressor, so that they are
// right when it reports a block start.
func (d *Deflated) read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := d.z.Read(p[n:])
		d.crc = crc32.Update(d.crc, crc32.IEEETable, p[n:n+k])
		d.keep(p[n : n+k])
		d.pos += int64(k)
		n += k
		if err == io.EOF && n == len(p) {
			break
		}
		if err != nil {
			d.z = nil // start again at the next read
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("inflate %q at %d: %w", d.m.Name, d.pos, err)
		}
	}
	if d.pos == d.m.Size && d.crc != d.m.CRC32 {
		d.z = nil
		return n, fmt.Errorf("%q: %w (%08x, directory says %08x)", d.m.Name, ErrChecksum, d.crc, d.m.CRC32)
	}
	return n, nil
}

// keep adds output at pos to the kept output (recentOff+len(recent) is
// always pos).
func (d *Deflated) keep(b []byte) {
	d.recent = append(d.recent, b...)
	if len(d.recent) > 2*keepRecent {
		drop := len(d.recent) - keepRecent
		d.recent = append(d.recent[:0], d.recent[drop:]...)
		d.recentOff += int64(drop)
	}
}

// restart starts decompression at a checkpoint.
func (d *Deflated) restart(ctx context.Context, cp checkpoint) error {
	byteOff := cp.bit / 8
	d.in = &input{ctx: ctx, r: d.r, off: d.data + byteOff, end: d.data + d.m.CompressedSize}
	d.start, d.pos, d.crc = cp.out, cp.out, cp.crc
	d.recent, d.recentOff = d.recent[:0], cp.out
	var z *inflate.Reader
	onBlock := func(bit, out int64) {
		out += d.start
		if out-d.m.points.last() < CheckpointEvery || out >= d.m.Size {
			return
		}
		w := z.Window()
		pending := out - d.pos // output made but not yet returned: the window's tail
		crc := d.crc
		if pending > 0 && pending <= int64(len(w)) {
			crc = crc32.Update(crc, crc32.IEEETable, w[int64(len(w))-pending:])
		} else if pending != 0 {
			return
		}
		d.m.points.add(checkpoint{out: out, bit: byteOff*8 + bit, window: w, crc: crc})
	}
	var err error
	z, err = inflate.NewReader(d.in, uint(cp.bit%8), cp.window, onBlock)
	if err != nil {
		return fmt.Errorf("inflate %q from %d: %w", d.m.Name, cp.out, err)
	}
	d.z = z
	return nil
}

// input feeds the decompressor the member's compressed bytes, read from
// the archive in large pieces.
type input struct {
	ctx      context.Context
	r        ReaderAt
	off, end int64 // next byte to fetch, end of the member's data
	buf      []byte
	i        int
}

// inputChunk is how much compressed data one archive read takes.
const inputChunk = 1 << 20

func (in *input) fill() error {
	if in.off >= in.end {
		return io.EOF
	}
	n := min(int64(inputChunk), in.end-in.off)
	if cap(in.buf) < int(n) {
		in.buf = make([]byte, n)
	}
	in.buf = in.buf[:n]
	if err := readFull(in.ctx, in.r, in.buf, in.off); err != nil {
		return err
	}
	in.off += n
	in.i = 0
	return nil
}

func (in *input) ReadByte() (byte, error) {
	if in.i >= len(in.buf) {
		if err := in.fill(); err != nil {
			return 0, err
		}
	}
	c := in.buf[in.i]
	in.i++
	return c, nil
}

func (in *input) Read(p []byte) (int, error) {
	if in.i >= len(in.buf) {
		if err := in.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, in.buf[in.i:])
	in.i += n
	return n, nil
}
