package zipindex

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"testing"
)

func TestDeflatedSeeksUseCheckpoints(t *testing.T) {
	old := CheckpointEvery
	CheckpointEvery = 512 << 10
	t.Cleanup(func() { CheckpointEvery = old })

	data := text(7, 6<<20)
	a := &memArchive{b: build(t, []entry{{"big.xml", zip.Deflate, data}})}
	ctx := context.Background()
	ix, err := Read(ctx, a, int64(len(a.b)))
	if err != nil {
		t.Fatal(err)
	}
	m := ix.Members[0]
	z, err := m.OpenDeflated(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	// A whole read records checkpoints and checks the CRC.
	all := make([]byte, m.Size)
	if _, err := z.ReadAt(ctx, all, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if !bytes.Equal(all, data) {
		t.Fatal("whole read differs")
	}
	if n := m.Checkpoints(); n < 8 {
		t.Fatalf("%d checkpoints after 6 MiB, want about two per MiB", n)
	}
	// Seeks, backwards and forwards, from a new reader: each starts at a
	// checkpoint, not at the member's start.
	z2, _ := m.OpenDeflated(ctx, a)
	for _, off := range []int64{5<<20 + 12345, 3 << 20, 4<<20 - 1, 100, 6<<20 - 10} {
		a.mu.Lock()
		a.bytes = 0
		a.mu.Unlock()
		p := make([]byte, 5000)
		n, err := z2.ReadAt(ctx, p, off)
		if err != nil && err != io.EOF {
			t.Fatalf("at %d: %v", off, err)
		}
		if !bytes.Equal(p[:n], data[off:off+int64(n)]) {
			t.Fatalf("at %d: bytes differ", off)
		}
		// One input chunk: the compressed bytes from the checkpoint on.
		if a.bytes > inputChunk {
			t.Errorf("seek to %d read %d compressed bytes, want at most %d", off, a.bytes, inputChunk)
		}
	}
}

func TestDeflatedBadChecksum(t *testing.T) {
	data := text(9, 100000)
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	var comp bytes.Buffer
	cw, _ := flateWriter(&comp)
	cw.Write(data)
	cw.Close()
	f, _ := w.CreateRaw(&zip.FileHeader{Name: "x", Method: zip.Deflate, CRC32: 1, CompressedSize64: uint64(comp.Len()), UncompressedSize64: uint64(len(data))})
	f.Write(comp.Bytes())
	w.Close()
	a := &memArchive{b: buf.Bytes()}
	ix, err := Read(context.Background(), a, int64(len(a.b)))
	if err != nil {
		t.Fatal(err)
	}
	z, _ := ix.Members[0].OpenDeflated(context.Background(), a)
	p := make([]byte, len(data))
	if _, err := z.ReadAt(context.Background(), p, 0); !errors.Is(err, ErrChecksum) {
		t.Errorf("err %v, want ErrChecksum", err)
	}
}

func TestDeflatedTruncated(t *testing.T) {
	data := text(10, 300000)
	b := build(t, []entry{{"x", zip.Deflate, data}})
	a := &memArchive{b: b}
	ix, err := Read(context.Background(), a, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	m := ix.Members[0]
	d, _ := m.DataOffset(context.Background(), a)
	clear(b[d+m.CompressedSize/2 : d+m.CompressedSize]) // damage the second half
	z, _ := m.OpenDeflated(context.Background(), a)
	p := make([]byte, len(data))
	if _, err := z.ReadAt(context.Background(), p, 0); err == nil || err == io.EOF {
		t.Errorf("damaged member read without error")
	}
}

func flateWriter(w io.Writer) (io.WriteCloser, error) {
	return flate.NewWriter(w, flate.DefaultCompression)
}

func TestDeflatedOutOfOrderReads(t *testing.T) {
	data := text(11, 6<<20)
	a := &memArchive{b: build(t, []entry{{"x", zip.Deflate, data}})}
	ctx := context.Background()
	ix, err := Read(ctx, a, int64(len(a.b)))
	if err != nil {
		t.Fatal(err)
	}
	z, _ := ix.Members[0].OpenDeflated(ctx, a)
	// Parallel 1 MiB reads of one handle arrive in any order.
	for _, off := range []int64{1 << 20, 0, 3 << 20, 2 << 20, 5 << 20, 4 << 20} {
		a.mu.Lock()
		a.bytes = 0
		a.mu.Unlock()
		p := make([]byte, 1<<20)
		n, err := z.ReadAt(ctx, p, off)
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(p[:n], data[off:off+int64(n)]) {
			t.Fatalf("at %d: bytes differ", off)
		}
		if off < 1<<20 && a.bytes > 0 {
			t.Errorf("read at %d behind the decompressor fetched %d bytes; the kept output should serve it", off, a.bytes)
		}
	}
}
