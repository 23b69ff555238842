package catalog

import (
	"context"
	"errors"
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
	}{
		{0, false, 1, false, 1},                // loads
		{30 * time.Second, false, 1, false, 1}, // cached
		{time.Minute, true, 1, false, 2},       // expired, reload fails: the stale value
		{time.Second, true, 1, false, 2},       // within errTTL: no new load
		{3 * time.Second, false, 3, false, 3},  // reload works
	}
	for i, s := range steps {
		clock = clock.Add(s.advance)
		fail = s.fail
		v, err := m.get(ctx, "k", load)
		if v != s.want || (err != nil) != s.wantErr || calls != s.calls {
			t.Errorf("step %d: %d, %v after %d loads; want %d, err %v, %d loads", i, v, err, calls, s.want, s.wantErr, s.calls)
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
