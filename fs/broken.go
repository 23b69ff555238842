package fs

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Broken is a catalog that could not start (refused or missing
// credentials, an unreachable server): an empty folder whose listing fails
// with EACCES, so that the other catalogs still mount.
type Broken struct {
	Name string
	Err  error // the cause, logged with every failed listing
}

// errBroken marks the listing of a Broken catalog (EACCES, see toErrno).
var errBroken = errors.New("did not start")

func (b Broken) list(context.Context) (listing, error) { return listing{}, b.listErr() }

// listErr is `catalog "name" did not start: <cause>`, the catalog named
// once (start-up errors name it already).
func (b Broken) listErr() error {
	cause := strings.TrimPrefix(b.Err.Error(), fmt.Sprintf("catalog %q: ", b.Name))
	return &brokenErr{msg: fmt.Sprintf("catalog %q %s: %s", b.Name, errBroken, cause), err: b.Err}
}

// brokenErr is the listing error of a Broken catalog: errBroken, and its
// cause.
type brokenErr struct {
	msg string
	err error
}

func (e *brokenErr) Error() string   { return e.msg }
func (e *brokenErr) Unwrap() []error { return []error{errBroken, e.err} }
