package inflate

import (
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// sample makes n bytes that compress into many blocks of every kind.
func sample(n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	for b.Len() < n {
		switch r.IntN(3) {
		case 0: // incompressible: stored blocks at low levels
			for range 200 {
				b.WriteByte(byte(r.Uint32()))
			}
		default:
			fmt.Fprintf(&b, "tile %d band B%02d ", r.IntN(50), r.IntN(12))
		}
	}
	return b.Bytes()[:n]
}

type block struct {
	bit, out int64
	window   []byte
}

// TestResumeAtEveryBlock: decoding from any block start, given the window
// reported there, gives the rest of the stream, whatever the block's bit
// offset and kind (levels 0, 1, 9, Huffman only).
func TestResumeAtEveryBlock(t *testing.T) {
	data := sample(600 << 10)
	for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.BestCompression, flate.HuffmanOnly} {
		t.Run(fmt.Sprint(level), func(t *testing.T) {
			var comp bytes.Buffer
			w, _ := flate.NewWriter(&comp, level)
			// No flushes: blocks end where the writer chooses, at any bit.
			w.Write(data)
			w.Close()
			var blocks []block
			var z *Reader
			z, err := NewReader(bufio.NewReader(bytes.NewReader(comp.Bytes())), 0, nil, func(bit, out int64) {
				blocks = append(blocks, block{bit, out, z.Window()})
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(z)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("whole stream: %d bytes, %v", len(got), err)
			}
			if len(blocks) < 5 {
				t.Fatalf("only %d blocks", len(blocks))
			}
			skips := map[int64]bool{}
			for _, b := range blocks {
				skips[b.bit%8] = true
				if int64(len(b.window)) != min(b.out, 32<<10) || !bytes.Equal(b.window, data[b.out-int64(len(b.window)):b.out]) {
					t.Fatalf("block at %d: window of %d bytes is not the output before it", b.out, len(b.window))
				}
				in := bufio.NewReader(bytes.NewReader(comp.Bytes()[b.bit/8:]))
				z2, err := NewReader(in, uint(b.bit%8), b.window, nil)
				if err != nil {
					t.Fatal(err)
				}
				rest, err := io.ReadAll(z2)
				if err != nil || !bytes.Equal(rest, data[b.out:]) {
					t.Fatalf("resumed at bit %d (output %d): %d bytes, %v", b.bit, b.out, len(rest), err)
				}
			}
			if (level == flate.BestSpeed || level == flate.BestCompression) && len(skips) < 3 {
				t.Errorf("%d blocks, bit offsets mod 8 seen: %v; want blocks at several bit offsets", len(blocks), skips)
			}
		})
	}
}
