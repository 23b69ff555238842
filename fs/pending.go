package fs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stacfs/stacfs/catalog"
)

// Pending is a catalog that was still trying to start when the mount came
// up (its server not reachable yet, while other catalogs were): a folder
// whose listing and lookups fail with EAGAIN while it keeps trying, that
// lists its collections once it starts (the same folder, no remount), and
// that becomes Broken (EACCES) when it gives up. The starter reports to it
// with Retrying, Started and Failed.
type Pending struct {
	name  string
	until time.Time // when the starter gives up

	mu     sync.Mutex
	cat    *catalog.Catalog // set once started
	broken error            // set once it failed for good
	last   error            // the last try's error
}

// NewPending returns the folder of catalog name, which keeps trying until
// until; last is why its last try failed (nil: its first try goes on).
func NewPending(name string, until time.Time, last error) *Pending {
	return &Pending{name: name, until: until, last: last}
}

// Name returns the catalog's name (its folder's).
func (p *Pending) Name() string { return p.name }

// Retrying notes that a try failed with err and will be tried again.
func (p *Pending) Retrying(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = err
}

// Started makes the folder list cat's collections.
func (p *Pending) Started(cat *catalog.Catalog) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cat = cat
}

// Failed makes the folder Broken: the catalog gave up starting with err.
func (p *Pending) Failed(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.broken = err
}

// Ready returns the catalog once started, else the error its folder's
// listing fails with: not reachable yet (EAGAIN), or, once it gave up, did
// not start (EACCES).
func (p *Pending) Ready() (*catalog.Catalog, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.cat != nil:
		return p.cat, nil
	case p.broken != nil:
		return nil, Broken{Name: p.name, Err: p.broken}.listErr()
	}
	err := fmt.Errorf("catalog %q: %w (trying until %s)", p.name, errPending, p.until.Format(time.TimeOnly))
	if p.last == nil {
		return nil, fmt.Errorf("%w: its first try is still waiting for an answer", err)
	}
	return nil, fmt.Errorf("%w: %w", err, p.last)
}

// errPending marks the listing of a Pending catalog that has not started
// yet (EAGAIN, see toErrno).
var errPending = errors.New("not reachable yet")

// pendingDir is the folder of a Pending catalog: a catalogDir once it
// started.
type pendingDir struct {
	fs   *FS
	p    *Pending
	path string
}

// dir returns the catalog's folder, or the error of a catalog not started.
func (d pendingDir) dir() (catalogDir, error) {
	cat, err := d.p.Ready()
	if err != nil {
		return catalogDir{}, err
	}
	return catalogDir{d.fs, cat, d.path}, nil
}

func (d pendingDir) list(ctx context.Context) (listing, error) {
	cd, err := d.dir()
	if err != nil {
		return listing{}, err
	}
	return cd.list(ctx)
}

func (d pendingDir) last(ctx context.Context) (listing, bool, bool) {
	cd, err := d.dir()
	if err != nil {
		return listing{}, false, false
	}
	return cd.last(ctx)
}

func (d pendingDir) refresh() {
	if cd, err := d.dir(); err == nil {
		cd.refresh()
	}
}
