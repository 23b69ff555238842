package zipindex

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"
)

// memArchive is an archive in memory that counts its reads.
type memArchive struct {
	b     []byte
	mu    sync.Mutex
	reads int
	bytes int64
}

func (m *memArchive) ReadAt(_ context.Context, p []byte, off int64) (int, error) {
	m.mu.Lock()
	m.reads++
	m.bytes += int64(len(p))
	m.mu.Unlock()
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

type entry struct {
	name   string
	method uint16
	data   []byte
}

var when = time.Date(2024, 3, 4, 5, 6, 8, 0, time.UTC)

func build(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		f, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method, Modified: when})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// text makes n bytes of compressible, non-repeating text.
func text(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"band ", "tile ", "orbit ", "granule ", "<value>", "2024-03-04 ", "B04 ", "reflectance ", "\n"}
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, words[r.IntN(len(words))]...)
		b = strconv.AppendUint(b, r.Uint64N(1000), 10)
	}
	return b[:n]
}

func readMember(t *testing.T, a *memArchive, m *Member) []byte {
	t.Helper()
	ctx := context.Background()
	if m.Method == zip.Store {
		d, err := m.DataOffset(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return a.b[d : d+m.Size]
	}
	z, err := m.OpenDeflated(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, m.Size)
	if n, err := z.ReadAt(ctx, out, 0); n != len(out) || (err != nil && err != io.EOF) {
		t.Fatalf("%s: read %d of %d: %v", m.Name, n, len(out), err)
	}
	return out
}

func TestReadListsAndReads(t *testing.T) {
	entries := []entry{
		{"P.SAFE/", zip.Store, nil},
		{"P.SAFE/manifest.safe", zip.Deflate, text(1, 20000)},
		{"P.SAFE/measurement/b04.tiff", zip.Store, text(2, 300000)},
		{"P.SAFE/empty.txt", zip.Deflate, nil},
	}
	a := &memArchive{b: build(t, entries)}
	ix, err := Read(context.Background(), a, int64(len(a.b)))
	if err != nil {
		t.Fatal(err)
	}
	if a.reads != 1 {
		t.Errorf("listing took %d reads, want 1", a.reads)
	}
	if len(ix.Members) != len(entries) {
		t.Fatalf("%d members, want %d", len(ix.Members), len(entries))
	}
	for i, e := range entries {
		m := ix.Members[i]
		if m.Name != e.name || m.Size != int64(len(e.data)) || m.Method != e.method || !m.Modified.Equal(when) || m.Dir != (e.name[len(e.name)-1] == '/') {
			t.Errorf("member %d: %+v, want %s (%d bytes)", i, m, e.name, len(e.data))
		}
		if !m.Dir {
			if got := readMember(t, a, m); !bytes.Equal(got, e.data) {
				t.Errorf("%s: content differs", e.name)
			}
		}
	}
}

func TestReadWithPrefixAndComment(t *testing.T) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	if err := w.SetComment(string(bytes.Repeat([]byte("c"), 60000))); err != nil {
		t.Fatal(err)
	}
	f, _ := w.Create("a.txt")
	f.Write([]byte("hello"))
	w.Close()
	// A self-extracting archive: bytes before the zip the offsets do not count.
	a := &memArchive{b: append(bytes.Repeat([]byte{0x7f}, 1000), buf.Bytes()...)}
	ix, err := Read(context.Background(), a, int64(len(a.b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := readMember(t, a, ix.Members[0]); string(got) != "hello" {
		t.Errorf("read %q", got)
	}
}

func TestReadLargeDirectoryTakesTwoReads(t *testing.T) {
	var entries []entry
	for i := range 3000 { // ~200 KiB of central directory
		entries = append(entries, entry{fmt.Sprintf("dir/%04d/some-longer-member-name.xml", i), zip.Store, []byte{byte(i)}})
	}
	a := &memArchive{b: build(t, entries)}
	ix, err := Read(context.Background(), a, int64(len(a.b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Members) != 3000 || a.reads != 2 {
		t.Errorf("%d members in %d reads, want 3000 in 2", len(ix.Members), a.reads)
	}
	if got := readMember(t, a, ix.Members[2999]); got[0] != byte(2999%256) {
		t.Errorf("last member reads %v", got)
	}
}

func TestNotZip(t *testing.T) {
	a := &memArchive{b: text(3, 5000)}
	if _, err := Read(context.Background(), a, int64(len(a.b))); !errors.Is(err, ErrFormat) {
		t.Errorf("err %v, want ErrFormat", err)
	}
}

func TestZip64ManyEntries(t *testing.T) {
	var entries []entry
	for i := range 70000 { // more than 65535: Zip64 end records
		entries = append(entries, entry{fmt.Sprintf("%d", i), zip.Store, nil})
	}
	entries = append(entries, entry{"last.txt", zip.Deflate, []byte("the end")})
	a := &memArchive{b: build(t, entries)}
	ix, err := Read(context.Background(), a, int64(len(a.b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Members) != len(entries) {
		t.Fatalf("%d members, want %d", len(ix.Members), len(entries))
	}
	if got := readMember(t, a, ix.Members[70000]); string(got) != "the end" {
		t.Errorf("read %q", got)
	}
}

// sparse is an archive that keeps only the bytes written in small pieces:
// large writes (a member's zeros) are remembered as holes of zeros.
type sparse struct {
	size  int64
	parts map[int64][]byte
}

func (s *sparse) Write(p []byte) (int, error) {
	if len(p) < 1<<20 {
		s.parts[s.size] = append([]byte(nil), p...)
	}
	s.size += int64(len(p))
	return len(p), nil
}

func (s *sparse) ReadAt(_ context.Context, p []byte, off int64) (int, error) {
	clear(p)
	for at, b := range s.parts {
		lo, hi := max(at, off), min(at+int64(len(b)), off+int64(len(p)))
		if lo < hi {
			copy(p[lo-off:hi-off], b[lo-at:hi-at])
		}
	}
	if off+int64(len(p)) > s.size {
		return int(max(s.size-off, 0)), io.EOF
	}
	return len(p), nil
}

func TestZip64LargeOffsets(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 4 GiB through the zip writer")
	}
	s := &sparse{parts: map[int64][]byte{}}
	w := zip.NewWriter(s)
	const big = 4<<30 + 5
	zeros := make([]byte, 4<<20)
	var crc uint32
	for n := int64(big); n > 0; n -= int64(len(zeros)) {
		crc = crc32.Update(crc, crc32.IEEETable, zeros[:min(n, int64(len(zeros)))])
	}
	f, err := w.CreateRaw(&zip.FileHeader{Name: "big.img", Method: zip.Store, CRC32: crc, CompressedSize64: big, UncompressedSize64: big})
	if err != nil {
		t.Fatal(err)
	}
	for n := int64(big); n > 0; n -= int64(len(zeros)) {
		f.Write(zeros[:min(n, int64(len(zeros)))])
	}
	g, _ := w.Create("after.txt")
	g.Write([]byte("past 4 GiB"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err := Read(context.Background(), s, s.size)
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Members) != 2 || ix.Members[0].Size != big {
		t.Fatalf("members %+v", ix.Members)
	}
	m := ix.Members[1]
	if m.header < 4<<30 {
		t.Errorf("header offset %d, want past 4 GiB", m.header)
	}
	z, err := m.OpenDeflated(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, m.Size)
	if _, err := z.ReadAt(context.Background(), got, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if string(got) != "past 4 GiB" {
		t.Errorf("read %q", got)
	}
}

func TestUnreadableMembers(t *testing.T) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	enc, _ := w.CreateRaw(&zip.FileHeader{Name: "secret.txt", Method: zip.Deflate, Flags: 0x1, CompressedSize64: 3, UncompressedSize64: 3})
	enc.Write([]byte{1, 2, 3})
	odd, _ := w.CreateRaw(&zip.FileHeader{Name: "bzip2.bin", Method: 12, CompressedSize64: 3, UncompressedSize64: 3})
	odd.Write([]byte{1, 2, 3})
	bad, _ := w.CreateRaw(&zip.FileHeader{Name: "badcrc.txt", Method: zip.Store, CRC32: 42, CompressedSize64: 3, UncompressedSize64: 3})
	bad.Write([]byte("abc"))
	w.Close()
	a := &memArchive{b: buf.Bytes()}
	ix, err := Read(context.Background(), a, int64(len(a.b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Members[0].Readable(); !errors.Is(err, ErrEncrypted) {
		t.Errorf("encrypted: %v", err)
	}
	if _, err := ix.Members[0].OpenDeflated(context.Background(), a); !errors.Is(err, ErrEncrypted) {
		t.Errorf("open encrypted: %v", err)
	}
	if err := ix.Members[1].Readable(); !errors.Is(err, ErrMethod) {
		t.Errorf("bzip2: %v", err)
	}
	if err := ix.Members[2].Readable(); err != nil {
		t.Errorf("stored: %v", err)
	}
}
