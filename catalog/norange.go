package catalog

import "errors"

// ErrNoRange means an asset's server ignores Range (it answers a ranged GET
// with 200 and the whole body). Such an asset is read once, front to back,
// as a stream (OpenStream), whose spool serves every later read: ranged
// fetches through the block cache would each bring everything before their
// range again, so that a copy would cost a multiple of the size growing
// with it.
var ErrNoRange = errors.New("server ignores Range")

// StreamOnly reports whether err, from Object, means the asset is read as
// a stream (OpenStream): its size is unknown, or its server ignores Range.
func StreamOnly(err error) bool {
	return errors.Is(err, ErrUnknownSize) || errors.Is(err, ErrNoRange)
}
