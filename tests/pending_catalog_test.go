package tests

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// TestPendingCatalog: a catalog whose server is down does not hold up the
// mount: the mount is up at once, the healthy catalog lists, the down
// one's folder fails with EAGAIN (and a log line) while stacfs keeps
// trying; when its server comes up, the same folder lists its
// collections, without a remount.
func TestPendingCatalog(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakestac.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down: connections are refused
	lateURL := "http://" + addr + strings.TrimPrefix(f.srv.STACURL, f.srv.URL)
	cfg := configFor(f.srv, "") + fmt.Sprintf("\n[catalogs.late]\nurl = %q\n", lateURL)

	// startMount waits 15 s at most for the mount: far less than the
	// start-up time the down catalog has.
	m := startMount(t, cfg, "--start-timeout", "5m")
	if _, err := os.ReadDir(filepath.Join(m.Dir, "fake", "S2")); err != nil {
		t.Errorf("the healthy catalog: %v", err)
	}
	late := filepath.Join(m.Dir, "late")
	if _, err := os.ReadDir(late); !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("listing the down catalog: %v, want EAGAIN", err)
	}
	if _, err := os.Stat(filepath.Join(late, "S2")); !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("lookup in the down catalog: %v, want EAGAIN", err)
	}
	if log, ok := m.logged("level=WARN", "path=/late", "not reachable yet", "connection refused"); !ok {
		t.Errorf("no WARN naming the folder and the cause:\n%s", log)
	}

	// The server comes up.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	target, _ := url.Parse(f.srv.URL)
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target)}
	t.Cleanup(func() { srv.Close() })
	go srv.Serve(ln)
	deadline := time.Now().Add(60 * time.Second)
	for {
		names, err := os.ReadDir(late)
		if err == nil {
			if len(names) == 0 || !hasName(names, "S2") {
				t.Fatalf("the late catalog lists %v", names)
			}
			break
		}
		if !errors.Is(err, syscall.EAGAIN) || time.Now().After(deadline) {
			t.Fatalf("listing the late catalog after its server came up: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := os.ReadDir(filepath.Join(late, "S2", "2023", "03", "15")); err != nil {
		t.Errorf("a day of the late catalog: %v", err)
	}
	if log, ok := m.logged("level=INFO", "catalog=late", "catalog started"); !ok {
		t.Errorf("no INFO line saying the catalog started:\n%s", log)
	}
}

// hasName reports whether entries holds name.
func hasName(entries []os.DirEntry, name string) bool {
	for _, e := range entries {
		if e.Name() == name {
			return true
		}
	}
	return false
}
