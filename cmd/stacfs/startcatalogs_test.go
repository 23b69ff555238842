package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/fakestac"
	stacfs "github.com/stacfs/stacfs/fs"
)

// closedPort returns the address of a loopback port nothing listens on
// (connections are refused) that a test may listen on later.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serveOn serves s's API on addr from now on (from any goroutine).
func serveOn(t *testing.T, addr string, s *fakestac.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Errorf("listen again on %s: %v", addr, err)
		return
	}
	target, _ := url.Parse(s.URL)
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target)}
	t.Cleanup(func() { srv.Close() })
	go srv.Serve(ln)
}

// startTest runs startCatalogs over config (catalogs in name order) with
// the given start-up timeout, and reports how long it took.
func startTest(t *testing.T, config string, timeout time.Duration) (startResult, time.Duration) {
	t.Helper()
	cfg, err := ParseConfig("x.toml", config)
	if err != nil {
		t.Fatal(err)
	}
	cfg.startTimeout = timeout
	var ccs []*CatalogConfig
	for _, name := range cfg.CatalogNames() {
		ccs = append(ccs, cfg.Catalogs[name])
	}
	bc, err := cache.New(cache.Options{Memory: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bc.Close() })
	start := time.Now()
	var r startResult
	r.cats, r.pending, r.broken, r.err = startCatalogs(t.Context(), cfg, ccs, bc, nil, nil, slog.New(slog.DiscardHandler))
	return r, time.Since(start)
}

type startResult struct {
	cats    []*catalog.Catalog
	pending []*stacfs.Pending
	broken  []stacfs.Broken
	err     error
}

// apiURL is s's STAC API as served on addr.
func apiURL(s *fakestac.Server, addr string) string {
	return "http://" + addr + strings.TrimPrefix(s.STACURL, s.URL)
}

// waitReady waits for p to start or give up (within limit).
func waitReady(t *testing.T, p *stacfs.Pending, limit time.Duration, done func(error) bool) error {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		_, err := p.Ready()
		if done(err) {
			return err
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v after %v", p.Name(), err, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStartCatalogsPending: a catalog whose server is down does not hold
// up the others: startCatalogs returns at once with it pending; it starts
// in the background when its server comes up, or gives up (broken) when
// the start-up time runs out. With no catalog started, startCatalogs
// waits and fails, as before.
func TestStartCatalogsPending(t *testing.T) {
	t.Parallel()
	s := fakestac.New(fakestac.Options{})
	t.Cleanup(s.Close)
	s.AddCollection(fakestac.Collection{ID: "S2"})

	t.Run("starts later", func(t *testing.T) {
		t.Parallel()
		addr := closedPort(t)
		r, took := startTest(t, fmt.Sprintf("[catalogs.good]\nurl = %q\n\n[catalogs.late]\nurl = %q\n", s.STACURL, apiURL(s, addr)), time.Minute)
		if r.err != nil || len(r.cats) != 1 || len(r.pending) != 1 || len(r.broken) != 0 {
			t.Fatalf("started %d, pending %d, broken %d, err %v", len(r.cats), len(r.pending), len(r.broken), r.err)
		}
		if took >= 30*time.Second {
			t.Errorf("returned after %v: it waited for the down catalog", took)
		}
		p := r.pending[0]
		if _, err := p.Ready(); p.Name() != "late" || err == nil || !strings.Contains(err.Error(), "not reachable yet") || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("pending %q: %v", p.Name(), err)
		}
		serveOn(t, addr, s)
		waitReady(t, p, 30*time.Second, func(err error) bool { return err == nil })
		cat, _ := p.Ready()
		if cols, err := cat.Collections(t.Context()); err != nil || len(cols) != 1 {
			t.Errorf("collections of the late catalog: %v, %v", cols, err)
		}
	})

	t.Run("never answers", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts (the kernel's backlog), never answers
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		r, took := startTest(t, fmt.Sprintf("[catalogs.good]\nurl = %q\n\n[catalogs.hole]\nurl = %q\n", s.STACURL, "http://"+ln.Addr().String()+"/"), time.Minute)
		if r.err != nil || len(r.cats) != 1 || len(r.pending) != 1 {
			t.Fatalf("started %d, pending %d, broken %d, err %v", len(r.cats), len(r.pending), len(r.broken), r.err)
		}
		if took < pendingGrace || took >= startFirstTry {
			t.Errorf("returned after %v, want the grace (%v) and not a whole try (%v)", took, pendingGrace, startFirstTry)
		}
		if _, err := r.pending[0].Ready(); err == nil || !strings.Contains(err.Error(), "first try is still waiting") {
			t.Errorf("pending: %v", err)
		}
	})

	t.Run("runs out", func(t *testing.T) {
		t.Parallel()
		r, _ := startTest(t, fmt.Sprintf("[catalogs.dead]\nurl = %q\n\n[catalogs.good]\nurl = %q\n", "http://"+closedPort(t)+"/", s.STACURL), 2*time.Second)
		if r.err != nil || len(r.cats) != 1 || len(r.pending) != 1 {
			t.Fatalf("started %d, pending %d, broken %d, err %v", len(r.cats), len(r.pending), len(r.broken), r.err)
		}
		err := waitReady(t, r.pending[0], 30*time.Second, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "did not start")
		})
		if !strings.Contains(err.Error(), "connection refused (gave up after ") {
			t.Errorf("broken: %v", err)
		}
	})

	t.Run("none starts", func(t *testing.T) {
		t.Parallel()
		r, took := startTest(t, fmt.Sprintf("[catalogs.a]\nurl = %q\n\n[catalogs.b]\nurl = %q\n", "http://"+closedPort(t)+"/", "http://"+closedPort(t)+"/"), 2*time.Second)
		if r.err == nil || !strings.Contains(r.err.Error(), "no catalog could start") || len(r.pending) != 0 {
			t.Fatalf("err %v, pending %d", r.err, len(r.pending))
		}
		if took < 2*time.Second {
			t.Errorf("failed after %v, before the start-up time ran out", took)
		}
	})

	t.Run("one catalog", func(t *testing.T) {
		t.Parallel()
		dead := "http://" + closedPort(t) + "/"
		r, _ := startTest(t, fmt.Sprintf("[catalogs.a]\nurl = %q\n", dead), 2*time.Second)
		if r.err == nil || !strings.HasPrefix(r.err.Error(), `catalog "a": landing page: Get "`+dead) || strings.Count(r.err.Error(), "landing page") != 1 {
			t.Fatalf("err %v", r.err)
		}
	})
}
