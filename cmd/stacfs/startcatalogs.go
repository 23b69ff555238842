package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/catalog"
	stacfs "github.com/stacfs/stacfs/fs"
	"github.com/stacfs/stacfs/remote"
)

// pendingGrace is how long, once a catalog has started, the mount waits for
// the first try of each other catalog before it comes up with them still
// starting (pending). A server that refuses fails its first try at once,
// one that is up answers well within it (a landing page or a token takes
// well under a second); one that accepts and never answers would hold the
// mount for a whole try (startFirstTry) without it.
const pendingGrace = 3 * time.Second

// startCatalogs starts each catalog in parallel (sign-in, landing page,
// views; each within cfg.startTimeout) and returns once every one has
// started or failed for good, or, as soon as one has started, once each of
// the others has failed a first try or pendingGrace has passed: those keep
// trying in the background and are returned as pending (their folders
// list once they start, or become broken when they give up). Catalogs that
// failed for good are returned as broken, with an ERROR log. When none
// starts, startCatalogs waits for every one and fails; so it does with one
// catalog.
func startCatalogs(ctx context.Context, cfg *Config, ccs []*CatalogConfig, bc *cache.Cache, m *mountMetrics, shared *cache.Shared, log *slog.Logger) ([]*catalog.Catalog, []*stacfs.Pending, []stacfs.Broken, error) {
	timeout := cfg.startTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	until := time.Now().Add(timeout)
	wake := make(chan struct{}, 1)
	notify := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	ss := make([]*starting, len(ccs))
	for i, cc := range ccs {
		s := &starting{cc: cc}
		ss[i] = s
		var client *remote.Client
		if s.err = cc.err; s.err == nil {
			client, s.err = newClient(cfg, cc, log)
		}
		if s.err != nil {
			s.done = true
			continue
		}
		m.observe(cc.name, client)
		shareMetadata(cfg, cc, client, shared)
		go s.run(ctx, cfg, client, bc, timeout, log, notify)
	}
	var grace <-chan time.Time
	for waiting := true; waiting; {
		started, settled := 0, 0
		for _, s := range ss {
			done, err, tried := s.state()
			if done && err == nil {
				started++
			}
			if done || tried {
				settled++
			}
		}
		switch {
		case settled == len(ss) && (started > 0 || allDone(ss)):
			waiting = false
			continue
		case started > 0 && grace == nil:
			grace = time.After(pendingGrace)
		}
		select {
		case <-wake:
		case <-grace:
			waiting = false
		}
	}
	return splitStarted(ss, until, log)
}

// splitStarted sorts the catalogs into started, pending and broken (see
// startCatalogs); the pending ones report to their folders from now on.
func splitStarted(ss []*starting, until time.Time, log *slog.Logger) ([]*catalog.Catalog, []*stacfs.Pending, []stacfs.Broken, error) {
	var ok []*catalog.Catalog
	var pending []*stacfs.Pending
	var broken []stacfs.Broken
	var errs []error
	for _, s := range ss {
		s.mu.Lock()
		switch {
		case s.done && s.err == nil:
			ok = append(ok, s.cat)
		case s.done:
			errs = append(errs, s.err)
			if len(ss) > 1 {
				log.Error("catalog not mounted: its folder lists nothing (EACCES)", "catalog", s.cc.name, "err", s.err)
				broken = append(broken, stacfs.Broken{Name: s.cc.name, Err: s.err})
			}
		default:
			s.pending = stacfs.NewPending(s.cc.name, until, s.last)
			pending = append(pending, s.pending)
			why := "its first try is still waiting for an answer"
			if s.last != nil {
				why = s.last.Error()
			}
			log.Warn("catalog not reachable yet: mounted without it; its folder fails with EAGAIN until it starts",
				"catalog", s.cc.name, "until", until.Format(time.TimeOnly), "err", why)
		}
		s.mu.Unlock()
	}
	switch {
	case len(ss) == 1 && len(errs) == 1:
		return nil, nil, nil, errs[0]
	case len(ok) == 0:
		return nil, nil, nil, fmt.Errorf("no catalog could start: %w", errors.Join(errs...))
	}
	return ok, pending, broken, nil
}

// starting is the start-up of one catalog, which goes on in the background
// when the mount came up without it (pending).
type starting struct {
	cc *CatalogConfig

	mu      sync.Mutex // protects the following
	tried   bool       // a try failed and is tried again
	last    error      // that try's error
	done    bool
	cat     *catalog.Catalog // done and started
	err     error            // done and failed for good
	pending *stacfs.Pending  // its folder, once mounted without it
}

// state reports whether the start-up is over (with err), or has failed a
// try and goes on.
func (s *starting) state() (done bool, err error, tried bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done, s.err, s.tried
}

// allDone reports whether every start-up is over.
func allDone(ss []*starting) bool {
	for _, s := range ss {
		if done, _, _ := s.state(); !done {
			return false
		}
	}
	return true
}

// run runs the start-up steps, then wires the catalog. Each failed try and
// the end are told to startCatalogs (notify) or, once mounted without it,
// to its pending folder.
func (s *starting) run(ctx context.Context, cfg *Config, client *remote.Client, bc *cache.Cache, timeout time.Duration, log *slog.Logger, notify func()) {
	clog := log.With("catalog", s.cc.name)
	p := startPolicy{total: timeout, retrying: func(_ string, attempt int, err error, wait time.Duration) {
		clog.Warn("start-up failed; trying again", "attempt", attempt, "in", wait.Round(time.Millisecond), "err", err)
		s.mu.Lock()
		s.tried, s.last = true, err
		pc := s.pending
		s.mu.Unlock()
		if pc != nil {
			pc.Retrying(err)
		} else {
			notify()
		}
	}}
	start := time.Now()
	var cat *catalog.Catalog
	_, err := startCatalog(ctx, s.cc, client, p)
	if err != nil {
		err = fmt.Errorf("catalog %q: %w", s.cc.name, err)
	} else {
		cat = newCatalog(cfg, s.cc, client, bc, log)
	}
	s.mu.Lock()
	s.done, s.cat, s.err = true, cat, err
	pc := s.pending
	s.mu.Unlock()
	switch {
	case pc == nil:
		notify()
	case err == nil:
		pc.Started(cat)
		clog.Info("catalog started: its folder lists its collections", "after", time.Since(start).Round(time.Second))
	case ctx.Err() != nil: // unmounting
	default:
		pc.Failed(err)
		clog.Error("catalog not mounted: its folder lists nothing (EACCES)", "err", err)
	}
}

// pendingNames returns the names of the catalogs still starting.
func pendingNames(pending []*stacfs.Pending) []string {
	names := make([]string, len(pending))
	for i, p := range pending {
		names[i] = p.Name()
	}
	return names
}
