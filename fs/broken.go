package fs

import (
	"context"
	"errors"
	"fmt"
)

// Broken is a catalog that could not start (refused or missing
// credentials, an unreachable server): an empty folder whose listing fails
// with EACCES, so that the other catalogs still mount.
type Broken struct {
	Name string
	Err  error // the cause, logged with every failed listing
}

// errBroken marks the listing of a Broken catalog (EACCES, see toErrno).
var errBroken = errors.New("catalog did not start")

func (b Broken) list(context.Context) (listing, error) { return listing{}, b.listErr() }

func (b Broken) listErr() error { return fmt.Errorf("catalog %q: %w: %w", b.Name, errBroken, b.Err) }
