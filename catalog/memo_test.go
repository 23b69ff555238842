package catalog

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoStaleOnErrorAndErrTTL(t *testing.T) {
	clock := time.Unix(0, 0)
	m := newMemo[string, int](time.Minute, time.Second, func() time.Time { return clock })
	ctx := context.Background()
	calls, fail := 0, false
	load := func(context.Context) (int, error) {
		calls++
		if fail {
			return 0, errors.New("down")
		}
		return calls, nil
	}
	steps := []struct {
		advance time.Duration
		fail    bool
		want    int
		wantErr bool
		calls   int
		failed  bool // failed tells the reload's error
	}{
		{0, false, 1, false, 1, false},                // loads
		{30 * time.Second, false, 1, false, 1, false}, // cached
		{time.Minute, true, 1, false, 2, true},        // expired, reload fails: the stale value
		{time.Second, true, 1, false, 2, true},        // within errTTL: no new load
		{3 * time.Second, false, 3, false, 3, false},  // reload works
	}
	for i, s := range steps {
		clock = clock.Add(s.advance)
		fail = s.fail
		v, err := m.get(ctx, "k", load)
		if v != s.want || (err != nil) != s.wantErr || calls != s.calls {
			t.Errorf("step %d: %d, %v after %d loads; want %d, err %v, %d loads", i, v, err, calls, s.want, s.wantErr, s.calls)
		}
		if f := m.failed("k"); (f != nil) != s.failed {
			t.Errorf("step %d: failed = %v, want an error: %v", i, f, s.failed)
		}
	}
	// Nothing to fall back on: the error is remembered for errTTL only.
	fail = true
	if _, err := m.get(ctx, "new", load); err == nil {
		t.Fatal("no error")
	}
	n := calls
	m.get(ctx, "new", load)
	if calls != n {
		t.Error("the failure was not remembered")
	}
	clock = clock.Add(errTTL)
	m.get(ctx, "new", load)
	if calls == n {
		t.Error("the failure was remembered past errTTL")
	}
}

func TestMemoDropsOldEntries(t *testing.T) {
	clock := time.Unix(0, 0)
	m := newMemo[int, int](time.Minute, time.Second, func() time.Time { return clock })
	load := func(context.Context) (int, error) { return 1, nil }
	for k := range 100 {
		m.get(context.Background(), k, load)
	}
	clock = clock.Add(time.Minute + keepStale + time.Second)
	m.get(context.Background(), -1, load)
	m.mu.Lock()
	n := len(m.entries)
	m.mu.Unlock()
	if n != 1 {
		t.Errorf("%d entries after all but one expired long ago, want 1", n)
	}
}

// TestMemoLast: last serves the value that loaded, fresh or past its TTL
// (starting the reload, without waiting for it), and nothing before the
// first load or after a refresh (expireKeys).
func TestMemoLast(t *testing.T) {
	var clock atomic.Int64
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	m := newMemo[string, int](time.Minute, 5*time.Second, now)
	ctx := context.Background()
	var calls atomic.Int32
	release := make(chan struct{}) // a reload waits for it
	load := func(context.Context) (int, error) {
		n := int(calls.Add(1))
		if n > 1 {
			<-release
		}
		return n, nil
	}
	check := func(step string, wantV int, wantFresh, wantOK bool, wantCalls int32) {
		t.Helper()
		v, fresh, ok := m.last(ctx, "k", load)
		// A reload runs in the background: wait for it to start.
		for wait := time.Now().Add(5 * time.Second); calls.Load() < wantCalls && time.Now().Before(wait); {
			time.Sleep(time.Millisecond)
		}
		if v != wantV || fresh != wantFresh || ok != wantOK || calls.Load() != wantCalls {
			t.Errorf("%s: last = %d, fresh %v, ok %v after %d loads; want %d, %v, %v after %d",
				step, v, fresh, ok, calls.Load(), wantV, wantFresh, wantOK, wantCalls)
		}
	}
	check("before any load", 0, false, false, 0)
	if v, err := m.get(ctx, "k", load); v != 1 || err != nil {
		t.Fatalf("get = %d, %v", v, err)
	}
	check("fresh", 1, true, true, 1)
	clock.Add(61)
	check("past the TTL: stale, reload started", 1, false, true, 2)
	check("while it reloads: stale, no second reload", 1, false, true, 2)
	close(release)
	if v, err := m.get(ctx, "k", load); v != 2 || err != nil {
		t.Fatalf("get after the reload = %d, %v; want 2", v, err)
	}
	check("reloaded", 2, true, true, 2)
	m.expireKeys(func(string) bool { return true })
	check("after a refresh", 0, false, false, 2)
	if v, _ := m.get(ctx, "k", load); v != 3 {
		t.Fatalf("get after the refresh = %d, want 3", v)
	}
	check("reloaded after the refresh", 3, true, true, 3)
}

// TestMemoGetStale: past its TTL, a value whose reload does not answer
// within wait is served stale (at once while that reload goes on); one
// expired by a refresh or a change (expire), also while reloading, or
// none, is waited for.
func TestMemoGetStale(t *testing.T) {
	const wait = 50 * time.Millisecond
	for _, tc := range []struct {
		name   string
		expire bool // expire the value (a refresh) before the get
		first  bool // no value has loaded yet
		want   int  // the value the get gives while the reload hangs; 0: it waits
	}{
		{name: "stale while the reload hangs", want: 1},
		{name: "expired by a refresh", expire: true},
		{name: "nothing loaded", first: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			clock := time.Unix(0, 0)
			now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
			m := newMemo[string, int](time.Minute, time.Minute, now)
			ctx := context.Background()
			if !tc.first {
				if v, err := m.getStale(ctx, "k", wait, func(context.Context) (int, error) { return 1, nil }); v != 1 || err != nil {
					t.Fatalf("first load: %d %v", v, err)
				}
				mu.Lock()
				clock = clock.Add(2 * time.Minute)
				mu.Unlock()
			}
			hang := make(chan struct{})
			defer close(hang)
			reload := func(ctx context.Context) (int, error) {
				<-hang
				return 2, nil
			}
			if tc.expire {
				m.expireKeys(func(string) bool { return true })
			}
			for i := range 2 { // the second get finds the reload in flight
				gctx, cancel := context.WithTimeout(ctx, 5*wait)
				v, err := m.getStale(gctx, "k", wait, reload)
				cancel()
				if tc.want == 0 {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("get %d: %d %v, want it to wait for the reload", i, v, err)
					}
				} else if v != tc.want || err != nil {
					t.Errorf("get %d: %d %v, want the stale %d", i, v, err, tc.want)
				}
			}
			if tc.want != 0 {
				m.expire("k", func(v int) bool { return v == 1 }) // in flight: a change found
				gctx, cancel := context.WithTimeout(ctx, 5*wait)
				defer cancel()
				if v, err := m.getStale(gctx, "k", wait, reload); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("get after expire while reloading: %d %v, want it to wait", v, err)
				}
			}
		})
	}
}
