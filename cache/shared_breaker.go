package cache

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Breaker settings of the shared tier: it opens after breakerFails
// failures in a row (when they are timeouts, only once they went on for
// breakerSpan: a fleet reading the same file at once makes a healthy
// server slow for a moment), stays open breakerMin, then lets one call
// through; each failed probe doubles the wait, up to breakerMax.
// (sony/gobreaker keeps one fixed open interval; the tier wants a growing
// one.)
const (
	breakerFails = 3
	breakerSpan  = time.Second
	breakerMin   = time.Second
	breakerMax   = time.Minute
)

// breaker is the circuit breaker of the shared tier. It logs once per
// change between up and down.
type breaker struct {
	log *slog.Logger

	mu      sync.Mutex
	down    bool      // open (or half open while probing)
	fails   int       // failures in a row while up
	first   time.Time // when the first of them happened
	until   time.Time // down: no call before then
	wait    time.Duration
	probing bool      // down: one call is trying the server
	probeAt time.Time // when it started (a probe that never reports is given up after breakerMin)
}

func newBreaker(log *slog.Logger) *breaker { return &breaker{log: log} }

// allow reports whether a call may go to the server: always while up;
// while down, one probe once the wait is over.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.down {
		return true
	}
	now := time.Now()
	if (b.probing && now.Sub(b.probeAt) < breakerMin) || now.Before(b.until) {
		return false
	}
	b.probing, b.probeAt = true, now
	return true
}

// success records a call that worked: a down breaker comes up.
func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fails = 0
	if b.down {
		b.down, b.probing, b.wait = false, false, 0
		b.log.Info("shared cache available again")
	}
}

// failure records a failed call: the breaker goes down after breakerFails
// in a row, or when a probe fails (with a longer wait).
func (b *breaker) failure(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		if b.probing {
			b.probing = false
			b.wait = min(2*b.wait, breakerMax)
			b.until = time.Now().Add(b.wait)
		}
		return
	}
	now := time.Now()
	if b.fails == 0 {
		b.first = now
	}
	b.fails++
	if b.fails >= breakerFails && (!isTimeout(err) || now.Sub(b.first) >= breakerSpan) {
		b.trip(err)
	}
}

// open takes the breaker down at once (the server did not answer at start).
func (b *breaker) open(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.down {
		b.trip(err)
	}
}

// trip goes down. b.mu must be held.
func (b *breaker) trip(err error) {
	b.down, b.probing, b.fails = true, false, 0
	b.wait = breakerMin
	b.until = time.Now().Add(b.wait)
	b.log.Warn("shared cache unavailable, reading from the provider until it answers again", "err", err)
}

// isDown reports whether the breaker is down (for tests and stats).
func (b *breaker) isDown() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.down
}

// isTimeout reports whether err is a call that ran out of time (not a
// refused connection or an error answer).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
