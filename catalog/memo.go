package catalog

import (
	"context"
	"sync"
	"time"
)

// memo caches the results of a loader for a time-to-live, and shares one
// load between concurrent callers of the same key. The load runs on a
// context detached from the caller's, bounded by timeout, so one
// interrupted caller does not fail the others.
//
// When a reload fails, the last good value is served again (stale, until
// the next reload succeeds): an outage does not hide what was listed. A
// failure with nothing to fall back on is remembered for errTTL only, so the
// kernel's revalidation and its lookup do not each wait for the network.
type memo[K comparable, V any] struct {
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time

	mu        sync.Mutex // protects entries and lastSweep
	entries   map[K]*memoEntry[V]
	lastSweep time.Time
}

// keepStale is how long past its expiry an entry is kept as the fallback of
// a failed reload; older entries are dropped, so a long-running mount that
// visits many folders does not grow without bound.
const keepStale = time.Hour

// sweepLocked drops the entries expired for more than keepStale, at most
// once a minute; m.mu is held.
func (m *memo[K, V]) sweepLocked(now time.Time) {
	if now.Sub(m.lastSweep) < time.Minute {
		return
	}
	m.lastSweep = now
	for k, e := range m.entries {
		select {
		case <-e.done:
			if now.Sub(e.expires) > keepStale {
				delete(m.entries, k)
			}
		default: // in flight
		}
	}
}

type memoEntry[V any] struct {
	done    chan struct{} // closed when the load finished
	val     V
	err     error
	expires time.Time
	good    bool // val is a value that loaded (maybe stale)
	// failed is the error of the last reload when val is the stale value
	// it fell back on (see failed); nil once a reload succeeds.
	failed  error
	forced  bool      // expired by expire or expireKeys (a refresh, a change): last does not serve val
	started time.Time // when the load began (wall clock: getStale waits by it)
}

// errTTL is how long a failed load with no value to fall back on is
// remembered.
const errTTL = 2 * time.Second

func newMemo[K comparable, V any](ttl, timeout time.Duration, now func() time.Time) *memo[K, V] {
	return &memo[K, V]{ttl: ttl, timeout: timeout, now: now, entries: map[K]*memoEntry[V]{}}
}

// get returns the cached value for k or loads it.
func (m *memo[K, V]) get(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	m.mu.Lock()
	e := m.entryLocked(ctx, k, load)
	m.mu.Unlock()

	select {
	case <-e.done:
		return e.val, e.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// entryLocked returns k's entry: fresh, in flight, or a load started now
// (with the expired entry as its fallback); m.mu is held.
func (m *memo[K, V]) entryLocked(ctx context.Context, k K, load func(context.Context) (V, error)) *memoEntry[V] {
	m.sweepLocked(m.now())
	e, ok := m.entries[k]
	if !ok {
		return m.startLocked(ctx, k, nil, load)
	}
	select {
	case <-e.done:
		if !m.now().Before(e.expires) {
			return m.startLocked(ctx, k, e, load)
		}
	default: // in flight: wait for it
	}
	return e
}

// getStale is get for a value past its TTL: its reload is waited for at
// most wait from its start, then the last value that loaded is served
// (stale while revalidating), so that an outage costs a caller at most
// wait, not the reload's retries. A value a refresh expired (expireKeys,
// expire), or none, is waited for as get does.
func (m *memo[K, V]) getStale(ctx context.Context, k K, wait time.Duration, load func(context.Context) (V, error)) (V, error) {
	m.mu.Lock()
	e := m.entryLocked(ctx, k, load)
	fallback, stale := e.val, e.good && !e.forced
	select {
	case <-e.done: // fresh, or served stale after a failed reload
		stale = false
	default:
	}
	left := wait - time.Since(e.started)
	m.mu.Unlock()

	var timeout <-chan time.Time
	if stale {
		if left <= 0 {
			return fallback, nil
		}
		t := time.NewTimer(left)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-e.done:
		return e.val, e.err
	case <-timeout:
		return fallback, nil
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// startLocked starts the load of k, with prev (nil or expired) as its
// fallback; m.mu is held.
func (m *memo[K, V]) startLocked(ctx context.Context, k K, prev *memoEntry[V], load func(context.Context) (V, error)) *memoEntry[V] {
	e := &memoEntry[V]{done: make(chan struct{}), started: time.Now()}
	if prev != nil && prev.good {
		e.val, e.good = prev.val, true // the fallback if the reload fails
		e.forced, e.failed = prev.forced, prev.failed
	}
	m.entries[k] = e
	go m.run(context.WithoutCancel(ctx), k, e, load)
	return e
}

// last returns the last value that loaded for k without waiting: fresh, or
// past its TTL (stale while it reloads: a value past its TTL has its
// reload started, as get would, and the callers after it see the new
// value). ok is false when k has no value, or when a refresh (expireKeys)
// expired it: the caller then gets, and waits.
func (m *memo[K, V]) last(ctx context.Context, k K, load func(context.Context) (V, error)) (v V, fresh, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, found := m.entries[k]
	if !found || !e.good || e.forced {
		return v, false, false
	}
	select {
	case <-e.done:
		if m.now().Before(e.expires) {
			return e.val, true, true
		}
		m.startLocked(ctx, k, e, load)
	default: // reloading: e.val is the fallback
	}
	return e.val, false, true
}

func (m *memo[K, V]) run(ctx context.Context, k K, e *memoEntry[V], load func(context.Context) (V, error)) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	v, err := load(ctx)
	m.mu.Lock()
	switch {
	case err == nil:
		e.val, e.good, e.forced, e.failed, e.expires = v, true, false, nil, m.now().Add(m.ttl)
	case e.good: // serve the stale value; try again after errTTL
		e.failed, e.expires = err, m.now().Add(min(errTTL, m.ttl))
	default:
		e.err, e.expires = err, m.now().Add(min(errTTL, m.ttl))
	}
	m.mu.Unlock()
	close(e.done)
}

// failed returns the error of k's last reload when the value get serves
// is the stale one that reload fell back on (nil when it loaded, or has
// no value). The stale value tells what was there, not what is not: a
// name it lacks may have come since.
func (m *memo[K, V]) failed(k K) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[k]; ok && e.good {
		return e.failed
	}
	return nil
}

// peek returns a fresh cached value without loading.
func (m *memo[K, V]) peek(k K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[k]; ok {
		select {
		case <-e.done:
			if e.good && m.now().Before(e.expires) {
				return e.val, true
			}
		default:
		}
	}
	var zero V
	return zero, false
}

// hasValue reports whether k has a value that loaded, fresh or stale (the
// fallback of a reload in flight).
func (m *memo[K, V]) hasValue(k K) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[k]
	return ok && e.good
}

// forgetDone drops k unless its load is in flight.
func (m *memo[K, V]) forgetDone(k K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[k]; ok {
		select {
		case <-e.done:
			delete(m.entries, k)
		default:
		}
	}
}

// forget drops k, so the next get loads again.
func (m *memo[K, V]) forget(k K) {
	m.mu.Lock()
	delete(m.entries, k)
	m.mu.Unlock()
}

// expire makes k's value expire now (the next get loads again, with it
// as the fallback if that fails) when match says so of it; when k is
// reloading, its fallback is no longer served (getStale and last wait for
// the reload): a value the server changed since, or one refreshed, is
// never given again while the server answers.
func (m *memo[K, V]) expire(k K, match func(V) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[k]; ok {
		m.expireLocked(e, match)
	}
}

// expireKeys is expire of every key match accepts.
func (m *memo[K, V]) expireKeys(match func(K) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, e := range m.entries {
		if match(k) {
			m.expireLocked(e, nil)
		}
	}
}

// expireLocked is expire of e (any value when match is nil); m.mu is held.
func (m *memo[K, V]) expireLocked(e *memoEntry[V], match func(V) bool) {
	if !e.good || match != nil && !match(e.val) {
		return
	}
	e.forced = true
	select {
	case <-e.done:
		e.expires = time.Time{}
	default: // reloading: its fallback is the value expired
	}
}

// values returns the values that loaded (fresh or stale) of the keys
// match accepts.
func (m *memo[K, V]) values(match func(K) bool) []V {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []V
	for k, e := range m.entries {
		if e.good && match(k) {
			out = append(out, e.val)
		}
	}
	return out
}
