package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

// A stored value (a unit of an object, or a metadata answer) is a header
// and a payload:
//
//	magic "stacfs" (6 bytes), kind (1 byte: 'U' unit, 'M' metadata),
//	format version (1 byte), key length (uint32), key, ETag length
//	(uint32), ETag, offset (int64), payload length (uint32), CRC-32C of
//	the payload (uint32), payload
//
// little endian. The key is the full identity of the value (Object.Key,
// or the request), so that a hash collision or a value written under the
// wrong name is a miss.
const (
	sharedMagic   = "stacfs"
	sharedVersion = 1
	kindUnit      = 'U'
	kindMeta      = 'M'
)

// errUnusable is why a stored value is not used.
var errUnusable = errors.New("shared cache: unusable value")

// encodeValue builds a stored value.
func encodeValue(kind byte, key, etag string, off int64, payload []byte) []byte {
	b := make([]byte, 0, len(sharedMagic)+2+4+len(key)+4+len(etag)+8+4+4+len(payload))
	b = append(b, sharedMagic...)
	b = append(b, kind, sharedVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(key)))
	b = append(b, key...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(etag)))
	b = append(b, etag...)
	b = binary.LittleEndian.AppendUint64(b, uint64(off))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, castagnoli))
	return append(b, payload...)
}

// decodeValue checks a stored value against what it must be and returns
// its payload (a slice of b). want < 0 accepts any payload length.
func decodeValue(b []byte, kind byte, key, etag string, off int64, want int) ([]byte, error) {
	bad := func(what string) ([]byte, error) { return nil, fmt.Errorf("%w: %s", errUnusable, what) }
	if len(b) < len(sharedMagic)+2 || string(b[:len(sharedMagic)]) != sharedMagic {
		return bad("no header")
	}
	b = b[len(sharedMagic):]
	if b[0] != kind || b[1] != sharedVersion {
		return bad(fmt.Sprintf("kind %q version %d", b[0], b[1]))
	}
	b = b[2:]
	str := func() (string, bool) {
		if len(b) < 4 {
			return "", false
		}
		n := binary.LittleEndian.Uint32(b)
		if uint64(len(b)-4) < uint64(n) {
			return "", false
		}
		s := string(b[4 : 4+n])
		b = b[4+n:]
		return s, true
	}
	k, ok := str()
	if !ok || k != key {
		return bad("other key")
	}
	e, ok := str()
	if !ok || e != etag {
		return bad("other version")
	}
	if len(b) < 16 {
		return bad("short header")
	}
	if int64(binary.LittleEndian.Uint64(b)) != off {
		return bad("other offset")
	}
	n := binary.LittleEndian.Uint32(b[8:])
	sum := binary.LittleEndian.Uint32(b[12:])
	b = b[16:]
	if uint64(len(b)) != uint64(n) || (want >= 0 && len(b) != want) {
		return bad(fmt.Sprintf("payload of %d bytes, header says %d, want %d", len(b), n, want))
	}
	if crc32.Checksum(b, castagnoli) != sum {
		return bad("checksum mismatch")
	}
	return b, nil
}

// objectETag returns the version part of an Object.Key (after its last
// NUL), or "" when it has none.
func objectETag(key string) string {
	if i := strings.LastIndexByte(key, 0); i >= 0 {
		return key[i+1:]
	}
	return ""
}
