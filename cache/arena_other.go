//go:build !linux

package cache

import "errors"

// arena is block memory outside the Go heap; only Linux has one (see
// arena_linux.go). Elsewhere the cache uses the heap.
type arena struct{}

// extent is memory handed out by an arena; there is none here.
type extent struct{}

func newArena(int64) (*arena, error) { return nil, errors.New("cache: no arena on this platform") }

func (a *arena) close()                             {}
func (a *arena) alloc(int64) ([]byte, extent, bool) { return nil, extent{}, false }
func (a *arena) free(extent)                        {}
func (a *arena) punch([]byte)                       {}
func (a *arena) contains([]byte) bool               { return false }
func (e extent) ok() bool                           { return false }

func (a *arena) put(dst, src []byte) error {
	copy(dst, src)
	return nil
}

// pageSize is the unit arena memory is handed out in.
const pageSize = 4096
