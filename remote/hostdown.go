package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// ErrHostDown marks a request not sent because its host is remembered as
// down (see hostBreakers); the error also wraps the failure that took the
// host down, so it reads (and maps to an errno) as that failure did.
var ErrHostDown = errors.New("host down")

// Host breaker settings: a host down is not asked for hostDownMin, then
// one request probes it; each failed probe doubles the wait, up to
// hostDownMax. (sony/gobreaker was considered: it trips on counts within
// one fixed open interval, while a host here goes down when one
// operation's whole retry budget found it unreachable, stays down for a
// growing wait, and is kept per origin.)
const (
	hostDownMin = 30 * time.Second
	hostDownMax = 2 * time.Minute
	// hostProbeStale frees a probe that never reported (its caller gave up).
	hostProbeStale = maxHeaderWait + 5*time.Second
)

// hostBreakers is the per-origin circuit breaker of a Client. A host (origin
// scheme://host:port) that refused connections or timed out on every
// attempt of an operation until its retry budget was spent is down:
// requests to it fail at once with ErrHostDown (wrapping the cause) until
// its wait is over; then one request is let through, and any answer (even
// a 5xx: the server answers) brings it up. It logs once per change of
// state, WARN down and INFO up.
type hostBreakers struct {
	mu    sync.Mutex
	hosts map[string]*hostState // guarded by mu
}

// hostState is one origin's breaker.
type hostState struct {
	failing   time.Time // start of the attempt that began the current run of unreachable attempts; zero after an answer
	down      bool
	downSince time.Time
	until     time.Time     // down: no request before then
	wait      time.Duration // down: the current wait
	probing   bool          // down: one request is trying the host
	probeAt   time.Time
	last      error     // the latest unreachable attempt's error: the cause it is down for
	lastAt    time.Time // when it failed
}

// nilBreakers serves a nil *Client.
var nilBreakers hostBreakers

func (c *Client) breakers() *hostBreakers {
	if c == nil {
		return &nilBreakers
	}
	return &c.hosts
}

func (b *hostBreakers) state(origin string) *hostState {
	if b.hosts == nil {
		b.hosts = map[string]*hostState{}
	}
	h := b.hosts[origin]
	if h == nil {
		h = &hostState{}
		b.hosts[origin] = h
	}
	return h
}

// allow returns nil when a request may go to u's host now, else an error
// wrapping ErrHostDown and the cause. While down, the first request after
// the wait is let through as a probe.
func (b *hostBreakers) allow(u *url.URL, now time.Time) error {
	origin := originKey(u)
	b.mu.Lock()
	defer b.mu.Unlock()
	h, ok := b.hosts[origin]
	if !ok || !h.down {
		return nil
	}
	if now.Before(h.until) || (h.probing && now.Sub(h.probeAt) < hostProbeStale) {
		return fmt.Errorf("%w: %s unreachable since %s (next try in %v): %w", ErrHostDown, originLabel(u),
			h.downSince.UTC().Format(time.TimeOnly), max(h.until.Sub(now), 0).Round(time.Second), h.last)
	}
	h.probing, h.probeAt = true, now
	return nil
}

// answered records an answer of u's host (any status): it is up.
func (b *hostBreakers) answered(u *url.URL, now time.Time, log *slog.Logger) {
	origin := originKey(u)
	b.mu.Lock()
	h, ok := b.hosts[origin]
	if !ok {
		b.mu.Unlock()
		return
	}
	was, since := h.down, h.downSince
	delete(b.hosts, origin)
	b.mu.Unlock()
	if was && log != nil {
		log.Info("host answers again", "origin", originLabel(u), "down_for", now.Sub(since).Round(time.Second))
	}
}

// unreachable records an attempt to u's host, begun at began, that found
// it unreachable (refused, no route, timed out) with err. A failed probe
// doubles the wait of a host down.
func (b *hostBreakers) unreachable(u *url.URL, err error, began, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.state(originKey(u))
	if h.failing.IsZero() {
		h.failing = began
	}
	h.last, h.lastAt = err, now
	if h.down && h.probing {
		h.probing = false
		h.wait = min(2*h.wait, hostDownMax)
		h.until = now.Add(h.wait)
	}
}

// gaveUp is told that an operation begun at start spent its retry budget.
// Every host unreachable at every attempt since then (its run of failures
// began by start plus a second, and went on during the operation) goes
// down.
func (b *hostBreakers) gaveUp(start, now time.Time, log *slog.Logger) {
	type down struct {
		origin string
		cause  error
	}
	b.mu.Lock()
	var downs []down
	for origin, h := range b.hosts {
		if h.down || h.failing.IsZero() || h.failing.After(start.Add(time.Second)) || h.lastAt.Before(start) {
			continue
		}
		h.down, h.downSince, h.probing = true, now, false
		h.wait = hostDownMin
		h.until = now.Add(h.wait)
		downs = append(downs, down{origin, h.last})
	}
	b.mu.Unlock()
	for _, d := range downs {
		if log != nil {
			log.Warn("host unreachable for a whole retry budget: its requests fail at once until it answers again",
				"origin", d.origin, "retry_in", hostDownMin, "err", d.cause)
		}
	}
}

// unreachableCause returns the error an exchange failed with (err, ctx
// its request's context) when it says the host cannot be reached: the
// connection was refused or timed out, there is no route, or no response
// headers came in time (the watchdog's cause). Else nil: a caller that
// gave up, or an answer cut short, says nothing of the host.
func unreachableCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, errStalled) {
		return cause
	}
	if ctx.Err() != nil {
		return nil
	}
	var oe *net.OpError
	var ne net.Error
	if (errors.As(err, &oe) && oe.Op == "dial") || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || (errors.As(err, &ne) && ne.Timeout()) {
		return &transportError{redactErr(err)}
	}
	return nil
}
