package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"syscall"
	"time"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/metrics"
	"github.com/stacfs/stacfs/remote"
)

// mountMetrics is the --metrics server of a mount; nil when off (its
// methods then do nothing).
type mountMetrics struct{ m *metrics.Metrics }

// startMetrics serves Prometheus metrics on addr ("" for none). A busy
// address fails the mount at start.
func startMetrics(addr string, bc *cache.Cache, log *slog.Logger) (*mountMetrics, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	m := metrics.New(bc)
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	// Go's profiler beside the metrics, for performance work on a live
	// mount (go tool pprof http://ADDR/debug/pprof/profile).
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return &mountMetrics{m: m}, nil
}

// observe hooks a catalog's HTTP client (and token source) to the metrics.
func (mm *mountMetrics) observe(catalog string, c *remote.Client) {
	if mm == nil {
		return
	}
	c.Observer = mm.m
	if c.Auth != nil && c.Auth.Tokens != nil {
		mm.m.Tokens(catalog, c.Auth.Tokens.Refreshes, c.Auth.Tokens.Failures)
	}
}

func (mm *mountMetrics) op() func(string, time.Duration, syscall.Errno) {
	if mm == nil {
		return nil
	}
	return mm.m.Op
}

func (mm *mountMetrics) served() func(int) {
	if mm == nil {
		return nil
	}
	return mm.m.Served
}
