// Package inflate is Go's compress/flate decompressor (Go 1.26, BSD
// licence: LICENSE in this folder) with two additions for random access into a
// DEFLATE stream, as zlib's zran.c, indexed_gzip and ratarmount do it: it
// reports where each block starts (bit offset in the input, byte offset in
// the output) with the 32 KiB window of output before it, and it can start
// decoding at such a block given that window. compress/flate hides both.
//
// Only the decompressor is kept; the changes are marked in inflate.go and
// reader.go.
package inflate
