package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stacfs/stacfs/internal/redistest"
)

// newShared returns a tier on url for a test, closed when it ends, with
// deadlines loose enough for a loaded machine running -race.
func newShared(t *testing.T, url string) *Shared {
	t.Helper()
	s, err := NewShared(SharedOptions{URL: url, CallTimeout: 2 * time.Second, LeaseWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// node is one machine of a fleet: its own memory cache and source, one
// shared tier.
type node struct {
	c   *Cache
	s   *Shared
	src *rampSource
}

func newNode(t *testing.T, url string, size int64) node {
	s := newShared(t, url)
	return node{c: newCache(t, Options{BlockSize: 16 << 10, Memory: 64 << 20, Shared: s}), s: s, src: &rampSource{seed: 7, size: size}}
}

func (n node) obj(size int64) Object {
	return Object{Key: "https://h/a.tif\x00\"v1\"", Size: size, Src: n.src, Shared: true}
}

// fetched sums the bytes the node's source was asked for.
func (n node) fetched() int64 {
	var b int64
	for _, c := range n.src.Calls() {
		b += c.End - c.Off
	}
	return b
}

// waitStored waits until the tier stored at least n bytes.
func waitStored(t *testing.T, s *Shared, n int64) {
	t.Helper()
	waitFor(t, "units stored", func() bool { return s.Stats().StoredBytes >= n })
}

func readWhole(t *testing.T, c *Cache, obj Object) []byte {
	t.Helper()
	p := make([]byte, obj.Size)
	if n, err := c.ReadAt(t.Context(), obj, p, 0); err != nil || n != len(p) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	return p
}

func TestSharedSecondNodeReadsRedis(t *testing.T) {
	srv := redistest.StartT(t)
	const size = 3<<20 + 12345
	a, b := newNode(t, srv.URL(), size), newNode(t, srv.URL(), size)
	want := ramp(7, 0, size)
	if got := readWhole(t, a.c, a.obj(size)); !bytes.Equal(got, want) {
		t.Fatal("node a: wrong bytes")
	}
	waitStored(t, a.s, size)
	if got := readWhole(t, b.c, b.obj(size)); !bytes.Equal(got, want) {
		t.Fatal("node b: wrong bytes")
	}
	if n := len(b.src.Calls()); n != 0 {
		t.Errorf("node b asked its source %d times, want 0", n)
	}
	if got := a.fetched(); got != size {
		t.Errorf("node a fetched %d bytes, want %d", got, size)
	}
	st := b.c.Stats().Shared
	if st.Hits == 0 || st.Misses != 0 || st.Errors != 0 || st.Bytes < size {
		t.Errorf("node b shared stats = %+v", st)
	}
}

func TestSharedNotSharedObject(t *testing.T) {
	srv := redistest.StartT(t)
	const size = 1 << 20
	a, b := newNode(t, srv.URL(), size), newNode(t, srv.URL(), size)
	oa, ob := a.obj(size), b.obj(size)
	oa.Shared, ob.Shared = false, false
	readWhole(t, a.c, oa)
	readWhole(t, b.c, ob)
	if a.fetched() != size || b.fetched() != size {
		t.Errorf("fetched %d and %d bytes, want %d each", a.fetched(), b.fetched(), size)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	if keys, _ := rdb.Keys(t.Context(), "*").Result(); len(keys) != 0 {
		t.Errorf("keys stored for an object not to share: %v", keys)
	}
}

func TestSharedRedisDown(t *testing.T) {
	srv := redistest.StartT(t)
	const size = 2 << 20
	n := newNode(t, srv.URL(), size)
	srv.Stop()
	start := time.Now()
	for range 3 { // enough failures to open the breaker
		n.c = newCache(t, Options{BlockSize: 16 << 10, Shared: n.s})
		if got := readWhole(t, n.c, n.obj(size)); !bytes.Equal(got, ramp(7, 0, size)) {
			t.Fatal("wrong bytes with Redis down")
		}
	}
	if !n.s.br.isDown() {
		t.Error("breaker still up after failed calls")
	}
	if st := n.s.Stats(); st.Errors == 0 {
		t.Errorf("stats = %+v, want errors", st)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("reads took %v with Redis down", d)
	}
}

func TestSharedCorruptUnitRefetched(t *testing.T) {
	tests := []struct {
		name   string
		damage func(v []byte) []byte
	}{
		{"payload byte flipped", func(v []byte) []byte { v[len(v)-100] ^= 1; return v }},
		{"truncated", func(v []byte) []byte { return v[:len(v)-1] }},
		{"other version", func(v []byte) []byte { return bytes.Replace(v, []byte(`"v1"`), []byte(`"v2"`), -1) }},
		{"garbage", func([]byte) []byte { return []byte("not a unit") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.StartT(t)
			const size = 1 << 20
			a, b := newNode(t, srv.URL(), size), newNode(t, srv.URL(), size)
			readWhole(t, a.c, a.obj(size))
			waitStored(t, a.s, size)
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
			defer rdb.Close()
			keys, err := rdb.Keys(t.Context(), "stacfs:u:*:1").Result()
			if err != nil || len(keys) != 1 {
				t.Fatalf("unit 1 keys = %v, %v", keys, err)
			}
			v, err := rdb.Get(t.Context(), keys[0]).Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if err := rdb.Set(t.Context(), keys[0], tt.damage(v), 0).Err(); err != nil {
				t.Fatal(err)
			}
			if got := readWhole(t, b.c, b.obj(size)); !bytes.Equal(got, ramp(7, 0, size)) {
				t.Fatal("wrong bytes after damage")
			}
			calls := b.src.Calls()
			if len(calls) != 1 || calls[0] != (span{MinSharedUnit, 2 * MinSharedUnit}) {
				t.Errorf("node b fetched %v, want unit 1 only", calls)
			}
			if st := b.s.Stats(); st.Errors != 1 || st.Misses != 1 {
				t.Errorf("node b stats = %+v, want 1 error, 1 miss", st)
			}
			// The unit is stored again, whole.
			waitFor(t, "unit 1 stored again", func() bool {
				v, err := rdb.Get(t.Context(), keys[0]).Bytes()
				return err == nil && bytes.Equal(v, encodeValue(kindUnit, a.obj(size).Key, `"v1"`, MinSharedUnit, ramp(7, MinSharedUnit, MinSharedUnit)))
			})
		})
	}
}

func TestSharedOneFetchPerUnit(t *testing.T) {
	srv := redistest.StartT(t)
	const size = 4<<20 + 1000
	var nodes []node
	for range 3 {
		n := newNode(t, srv.URL(), size)
		n.src.delay = 20 * time.Millisecond // fetches overlap
		nodes = append(nodes, n)
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		for r := range 2 { // two readers per node, from both ends
			wg.Go(func() {
				bs := int64(256 << 10)
				for i := range (size + bs - 1) / bs {
					off := i * bs
					if r == 1 {
						off = (size - 1) / bs * bs
						off -= i * bs
					}
					p := make([]byte, min(bs, size-off))
					if _, err := n.c.ReadAt(context.Background(), n.obj(size), p, off); err != nil {
						t.Error(err)
						return
					}
					if !bytes.Equal(p, ramp(7, off, int64(len(p)))) {
						t.Errorf("wrong bytes at %d", off)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	var total int64
	for _, n := range nodes {
		total += n.fetched()
	}
	if total != size {
		t.Errorf("the fleet fetched %d bytes of a %d-byte object, want each unit once", total, size)
	}
	var waits int64
	for _, n := range nodes {
		waits += n.s.Stats().LeaseWaits
	}
	t.Logf("lease waits: %d", waits)
}

func TestSharedTransport(t *testing.T) {
	srv := redistest.StartT(t)
	var requests atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/token":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"token":"secret-sas"}`)
		case "/private":
			w.Header().Set("Cache-Control", "private")
			io.WriteString(w, `{}`)
		default:
			w.Header().Set("Content-Type", "application/geo+json")
			w.Header().Set("Set-Cookie", "session=abc")
			io.WriteString(w, `{"path":"`+r.URL.Path+`","body":"`+strings.ReplaceAll(string(body), `"`, `'`)+`"}`)
		}
	}))
	defer api.Close()
	fleet := func() *http.Client {
		s := newShared(t, srv.URL())
		return &http.Client{Transport: s.Transport(http.DefaultTransport, TransportOptions{TTL: time.Minute,
			Key: func(u string) string { return strings.ReplaceAll(u, "sig=1", "") }})}
	}
	do := func(c *http.Client, method, path, body string, h map[string]string) string {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, api.URL+path, rd)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %s", method, path, resp.Status)
		}
		return string(b)
	}
	a, b := fleet(), fleet()
	tests := []struct {
		name      string
		method    string
		path      string
		body      string
		header    map[string]string
		wantSaved bool // the second node makes no request
	}{
		{name: "item GET", method: "GET", path: "/items/x", wantSaved: true},
		{name: "signature dropped from the key", method: "GET", path: "/items/y?sig=1", wantSaved: true},
		{name: "search POST", method: "POST", path: "/search", body: `{"collections":["c"]}`, wantSaved: true},
		{name: "head probe", method: "GET", path: "/a.tif", header: map[string]string{"Range": "bytes=0-99"}, wantSaved: true},
		{name: "range elsewhere", method: "GET", path: "/b.tif", header: map[string]string{"Range": "bytes=100-199"}},
		{name: "with credentials", method: "GET", path: "/items/z", header: map[string]string{"Authorization": "Bearer tok-123"}},
		{name: "token endpoint", method: "GET", path: "/token"},
		{name: "private answer", method: "GET", path: "/private"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := do(a, tt.method, tt.path, tt.body, tt.header)
			time.Sleep(50 * time.Millisecond) // the store runs in the background
			before := requests.Load()
			second := do(b, tt.method, tt.path, tt.body, tt.header)
			if first != second {
				t.Errorf("second node got %q, first %q", second, first)
			}
			if saved := requests.Load() == before; saved != tt.wantSaved {
				t.Errorf("second node's request saved = %v, want %v", saved, tt.wantSaved)
			}
		})
	}
	// Another search body is another answer.
	if got := do(b, "POST", "/search", `{"collections":["d"]}`, nil); !strings.Contains(got, "'d'") {
		t.Errorf("other search body answered %q", got)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	keys, _ := rdb.Keys(t.Context(), "*").Result()
	for _, k := range keys {
		v, _ := rdb.Get(t.Context(), k).Bytes()
		for _, secret := range []string{"tok-123", "secret-sas", "session=abc"} {
			if bytes.Contains(v, []byte(secret)) {
				t.Errorf("key %s holds %q", k, secret)
			}
		}
	}
}

func TestSharedTransportRedisDown(t *testing.T) {
	srv := redistest.StartT(t)
	var requests atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.WriteString(w, `{"ok":true}`)
	}))
	defer api.Close()
	s := newShared(t, srv.URL())
	c := &http.Client{Transport: s.Transport(http.DefaultTransport, TransportOptions{TTL: time.Minute})}
	srv.Stop()
	for range 5 {
		resp, err := c.Get(api.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != `{"ok":true}` {
			t.Fatalf("body %q", b)
		}
	}
	if requests.Load() != 5 || !s.br.isDown() {
		t.Errorf("requests = %d, breaker down = %v", requests.Load(), s.br.isDown())
	}
}

func TestNewSharedURL(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string
	}{
		{url: "redis://127.0.0.1:1/0"},
		{url: "rediss://user:hunter2@127.0.0.1:1/0"},
		{url: "redis+cluster://127.0.0.1:1?addr=127.0.0.1:2"},
		{url: "redis://127.0.0.1:1?master_name=m&addr=127.0.0.1:2"},
		{url: "http://127.0.0.1:1", wantErr: "scheme"},
		{url: "redis://user:hunter2@127.0.0.1:1/notanumber", wantErr: "database"},
		{url: "nothing", wantErr: "want redis"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			s, err := NewShared(SharedOptions{URL: tt.url, CallTimeout: 10 * time.Millisecond})
			if s != nil {
				s.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
	if got := RedactRedisURL("redis://u:hunter2@h:1/0"); strings.Contains(got, "hunter2") {
		t.Errorf("RedactRedisURL = %q", got)
	}
}

func TestBreaker(t *testing.T) {
	b := newBreaker(slog.New(slog.DiscardHandler))
	for range breakerFails - 1 {
		b.failure(errors.New("x"))
	}
	if !b.allow() || b.isDown() {
		t.Fatal("down before breakerFails failures")
	}
	b.failure(errors.New("x"))
	if b.allow() || !b.isDown() {
		t.Fatal("up after breakerFails failures")
	}
	b.until = time.Now() // the wait is over: one probe
	if !b.allow() || b.allow() {
		t.Fatal("want exactly one probe")
	}
	b.failure(errors.New("x"))
	if b.wait != 2*breakerMin {
		t.Errorf("wait after a failed probe = %v, want %v", b.wait, 2*breakerMin)
	}
	b.until = time.Now()
	if !b.allow() {
		t.Fatal("no probe after the longer wait")
	}
	b.success()
	if b.isDown() || !b.allow() {
		t.Fatal("down after a good probe")
	}
}

func TestSharedValueFormat(t *testing.T) {
	v := encodeValue(kindUnit, "k\x00e", "e", 1<<18, []byte("payload"))
	if p, err := decodeValue(v, kindUnit, "k\x00e", "e", 1<<18, 7); err != nil || string(p) != "payload" {
		t.Fatalf("decode = %q, %v", p, err)
	}
	for name, args := range map[string]struct {
		key, etag string
		off       int64
		n         int
		kind      byte
	}{
		"key":    {"k2\x00e", "e", 1 << 18, 7, kindUnit},
		"etag":   {"k\x00e", "f", 1 << 18, 7, kindUnit},
		"offset": {"k\x00e", "e", 0, 7, kindUnit},
		"length": {"k\x00e", "e", 1 << 18, 8, kindUnit},
		"kind":   {"k\x00e", "e", 1 << 18, 7, kindMeta},
	} {
		if _, err := decodeValue(v, args.kind, args.key, args.etag, args.off, args.n); !errors.Is(err, errUnusable) {
			t.Errorf("other %s: err = %v", name, err)
		}
	}
}

// TestBreakerTimeouts: timeouts take the breaker down only once they went
// on for breakerSpan (a busy server), other errors at once.
func TestBreakerTimeouts(t *testing.T) {
	b := newBreaker(slog.New(slog.DiscardHandler))
	for range 2 * breakerFails {
		b.failure(context.DeadlineExceeded)
	}
	if b.isDown() {
		t.Fatal("down after a burst of timeouts")
	}
	b.first = time.Now().Add(-breakerSpan)
	b.failure(context.DeadlineExceeded)
	if !b.isDown() {
		t.Fatal("up after timeouts for breakerSpan")
	}
}

// TestSharedRedisSlowOrFull: a paused server (every call waits) and a full
// one (writes refused) cost a reader the call timeout at most, and give
// the right bytes.
// lateReplies is a TCP proxy to addr that holds the replies to calls
// that take a lease (and all later replies of their connection) for
// delay, and passes everything else at once: a server that runs a lookup
// but answers after the caller's deadline, as a client starved of CPU
// sees it.
func lateReplies(t *testing.T, addr string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			var late atomic.Bool
			go func() {
				defer u.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if bytes.Contains(buf[:n], []byte(":lease")) {
						late.Store(true)
					}
					if _, werr := u.Write(buf[:n]); werr != nil || err != nil {
						return
					}
				}
			}()
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := u.Read(buf)
					if n > 0 && late.Load() {
						time.Sleep(delay)
					}
					if _, werr := c.Write(buf[:n]); werr != nil || err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestSharedLateLookupReleasesLeases: a node whose lookup times out reads
// from the provider; the leases the server gave it anyway are released (in
// the background, well before they expire), so the next node fetches the
// units itself at once instead of waiting lease_wait for a fetch that is
// never stored.
func TestSharedLateLookupReleasesLeases(t *testing.T) {
	srv := redistest.StartT(t)
	late := lateReplies(t, srv.Addr, 300*time.Millisecond)
	a, err := NewShared(SharedOptions{URL: "redis://" + late + "/0", CallTimeout: 50 * time.Millisecond, LeaseWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	const size = 1 << 20
	obj := func(src Source) Object { return Object{Key: "k\x00e", Size: size, Src: src, Shared: true} }
	ca := newCache(t, Options{BlockSize: 16 << 10, Shared: a})
	if got := readWhole(t, ca, obj(&rampSource{seed: 5, size: size})); !bytes.Equal(got, ramp(5, 0, size)) {
		t.Fatal("node A: wrong bytes")
	}
	if a.Stats().Errors == 0 {
		t.Fatal("node A's lookup did not time out: the test shows nothing")
	}
	// Node A releases in the background: node B starts once it has.
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	waitFor(t, "node A's leases released", func() bool {
		keys, err := rdb.Keys(t.Context(), "*:lease").Result()
		return err == nil && len(keys) == 0
	})
	b := newShared(t, srv.URL())
	cb := newCache(t, Options{BlockSize: 16 << 10, Shared: b})
	start := time.Now()
	if got := readWhole(t, cb, obj(&rampSource{seed: 5, size: size})); !bytes.Equal(got, ramp(5, 0, size)) {
		t.Fatal("node B: wrong bytes")
	}
	if d, w := time.Since(start), b.Stats().LeaseWaits; d > 2*time.Second || w != 0 {
		t.Errorf("node B took %v and waited for %d units: node A's leases were kept (lease_wait 5s)", d, w)
	}
}

func TestSharedRedisSlowOrFull(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, rdb *redis.Client)
	}{
		{"paused", func(t *testing.T, rdb *redis.Client) {
			if err := rdb.Do(t.Context(), "CLIENT", "PAUSE", 3000, "ALL").Err(); err != nil {
				t.Fatal(err)
			}
		}},
		{"full", func(t *testing.T, rdb *redis.Client) {
			for _, kv := range [][2]string{{"maxmemory", "1"}, {"maxmemory-policy", "noeviction"}} {
				if err := rdb.ConfigSet(t.Context(), kv[0], kv[1]).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.StartT(t)
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
			defer rdb.Close()
			s, err := NewShared(SharedOptions{URL: srv.URL(), CallTimeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tt.setup(t, rdb)
			const size = 1 << 20
			for i := range 3 {
				c := newCache(t, Options{BlockSize: 16 << 10, Shared: s})
				src := &rampSource{seed: 3, size: size}
				start := time.Now()
				p := make([]byte, size)
				if n, err := c.ReadAt(t.Context(), Object{Key: "k\x00e", Size: size, Src: src, Shared: true}, p, 0); err != nil || n != size {
					t.Fatalf("read %d: %d, %v", i, n, err)
				}
				if !bytes.Equal(p, ramp(3, 0, size)) {
					t.Fatalf("read %d: wrong bytes", i)
				}
				// The call timeout, its per-byte share and slack for -race.
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("read %d took %v", i, d)
				}
			}
			if st := s.Stats(); st.Errors == 0 {
				t.Errorf("stats = %+v, want errors", st)
			}
		})
	}
}
