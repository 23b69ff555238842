package inflate

// Reader decompresses a DEFLATE stream (RFC 1951), like compress/flate's
// reader, and can start at any block of a stream given the 32 KiB of output
// before that block.
type Reader struct{ f decompressor }

// NewReader returns a reader of the stream in r whose first block starts
// skip bits (0-7) into r's first byte. window is the output that precedes
// that block (its last 32 KiB are kept; nil at the stream's start).
// onBlock, when set, is called at the start of every block with the block's
// bit offset from the start of r (counting the skipped bits) and the number
// of bytes output before it; Window gives those bytes' last 32 KiB during
// the call.
func NewReader(r Input, skip uint, window []byte, onBlock func(bit, out int64)) (*Reader, error) {
	fixedHuffmanDecoderInit()
	z := &Reader{}
	f := &z.f
	f.r = r
	f.bits = new([maxNumLit + maxNumDist]int)
	f.codebits = new([numCodes]int)
	f.step = (*decompressor).nextBlock
	f.dict.init(maxMatchOffset, window)
	f.onBlock = onBlock
	if skip > 0 {
		if err := f.moreBits(); err != nil {
			return nil, err
		}
		f.b >>= skip & 7
		f.nb -= skip & 7
	}
	return z, nil
}

// Read implements io.Reader. It returns io.EOF after the final block.
func (z *Reader) Read(p []byte) (int, error) { return z.f.Read(p) }

// Window returns a copy of the last 32 KiB (or fewer) of output, including
// output not yet returned by Read.
func (z *Reader) Window() []byte {
	d := &z.f.dict
	if !d.full {
		return append([]byte(nil), d.hist[:d.wrPos]...)
	}
	w := make([]byte, 0, len(d.hist))
	w = append(w, d.hist[d.wrPos:]...)
	return append(w, d.hist[:d.wrPos]...)
}
