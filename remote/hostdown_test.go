package remote

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// closedPort returns the address of a loopback port nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentHost accepts connections and never answers; it counts them.
func silentHost(t *testing.T) (addr string, conns *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = &atomic.Int64{}
	done := make(chan struct{})
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
			close(done)
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			held = append(held, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String(), conns
}

// TestHostDown: a host unreachable for a whole retry budget (refused, or
// no answer) is down: the next operation fails at once with ErrHostDown,
// wrapping the same cause, without a connection; it is logged once. A
// server answering 503 is not down.
func TestHostDown(t *testing.T) {
	tests := []struct {
		name     string
		host     func(t *testing.T) (url string, attempts func() int64)
		down     bool
		sameErr  error // the cause the fast failure wraps
		contains string
	}{
		{"connection refused", func(t *testing.T) (string, func() int64) {
			return "http://" + closedPort(t) + "/obj", nil
		}, true, syscall.ECONNREFUSED, "refused"},
		{"no answer", func(t *testing.T) (string, func() int64) {
			addr, conns := silentHost(t)
			return "http://" + addr + "/obj", conns.Load
		}, true, errStalled, "no response headers"},
		{"503", func(t *testing.T) (string, func() int64) {
			srv := newFaultServer(t, 100, always(fail503))
			var n atomic.Int64
			inner := srv.Config.Handler
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); inner.ServeHTTP(w, r) })
			return srv.URL + "/obj", n.Load
		}, false, nil, "503"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, attempts := tc.host(t)
			rec := &recorder{}
			c := fastClient(300 * time.Millisecond)
			c.Logger = slog.New(rec)
			_, err := c.Stat(context.Background(), u)
			if err == nil || !strings.Contains(err.Error(), "gave up") || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("first stat: %v, want to give up with %q", err, tc.contains)
			}
			var before int64
			if attempts != nil {
				before = attempts()
			}
			_, err = c.Stat(context.Background(), u)
			if got := errors.Is(err, ErrHostDown); got != tc.down {
				t.Fatalf("second stat: %v; host down %v, want %v", err, got, tc.down)
			}
			downs := rec.lines("host unreachable for a whole retry budget: its requests fail at once until it answers again")
			if !tc.down {
				if len(downs) != 0 {
					t.Errorf("a server that answers was logged down: %q", downs)
				}
				if attempts() == before {
					t.Errorf("second stat did not reach the server")
				}
				return
			}
			if !errors.Is(err, tc.sameErr) || !strings.Contains(err.Error(), tc.contains) || strings.Contains(err.Error(), "gave up") {
				t.Errorf("second stat: %v, want at once the same cause (%v)", err, tc.sameErr)
			}
			if attempts != nil && attempts() != before {
				t.Errorf("second stat made %d connections to a host down, want 0", attempts()-before)
			}
			// More requests while down log nothing more.
			c.ReadAt(context.Background(), u, make([]byte, 10), 0, "")
			downs = rec.lines("host unreachable for a whole retry budget: its requests fail at once until it answers again")
			if len(downs) != 1 || !strings.HasPrefix(downs[0], "WARN") || !strings.Contains(downs[0], "origin=http://127.0.0.1:") {
				t.Errorf("down lines: %q, want one WARN naming the origin", downs)
			}
		})
	}
}

// TestHostDownProbe: once its wait is over, a host down gets one request:
// when it fails the wait doubles; when the host answers it is up (logged
// once at INFO) and requests go through again.
func TestHostDownProbe(t *testing.T) {
	addr := closedPort(t)
	u := "http://" + addr + "/obj"
	rec := &recorder{}
	c := fastClient(300 * time.Millisecond)
	c.Logger = slog.New(rec)
	if _, err := c.Stat(context.Background(), u); err == nil {
		t.Fatal("stat of a closed port worked")
	}
	expire := func() time.Duration {
		c.hosts.mu.Lock()
		defer c.hosts.mu.Unlock()
		for _, h := range c.hosts.hosts {
			h.until = time.Now().Add(-time.Millisecond)
			return h.wait
		}
		return 0
	}
	if w := expire(); w != hostDownMin {
		t.Fatalf("wait %v, want %v", w, hostDownMin)
	}
	// The probe fails: down for twice as long.
	if _, err := c.Stat(context.Background(), u); !errors.Is(err, ErrHostDown) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("failed probe: %v, want host down, refused", err)
	}
	if w := expire(); w != 2*hostDownMin {
		t.Fatalf("wait after a failed probe %v, want %v", w, 2*hostDownMin)
	}
	// The host is back: the probe goes through and it is up.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot listen on %s again: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "obj", time.Time{}, strings.NewReader("hello"))
	}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	for i := range 3 {
		if info, err := c.Stat(context.Background(), u); err != nil || info.Size != 5 {
			t.Fatalf("stat %d after the host came back: %+v, %v", i, info, err)
		}
	}
	ups := rec.lines("host answers again")
	if len(ups) != 1 || !strings.HasPrefix(ups[0], "INFO") {
		t.Errorf("up lines: %q, want one INFO", ups)
	}
}
