// Package metrics exposes what a stacfs mount does as Prometheus metrics
// (prometheus/client_golang), all named stacfs_*: HTTP requests and bytes
// by origin and status, retries, token refreshes, cache hits, misses and
// evictions per tier, bytes served to readers, and FUSE operation latency.
package metrics

import (
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stacfs/stacfs/cache"
)

// Metrics is the registry of one stacfs process.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	retries  *prometheus.CounterVec
	ops      *prometheus.HistogramVec
	opErrors *prometheus.CounterVec
	served   prometheus.Counter
}

// New returns the metrics of a mount whose block cache is c.
func New(c *cache.Cache) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stacfs_http_requests_total", Help: "HTTP exchanges (each redirect hop) by origin, method and status (0: transport error).",
		}, []string{"origin", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stacfs_http_response_seconds", Help: "Time to response headers, by origin.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"origin"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stacfs_http_response_bytes_total", Help: "Response body bytes read, by origin.",
		}, []string{"origin"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stacfs_http_retries_total", Help: "Operations tried again after a transient failure, by origin.",
		}, []string{"origin"}),
		ops: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stacfs_fuse_op_seconds", Help: "FUSE operation latency, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"op"}),
		opErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stacfs_fuse_op_errors_total", Help: "FUSE operations that failed, by operation and errno.",
		}, []string{"op", "errno"}),
		served: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stacfs_read_bytes_total", Help: "Bytes served to readers of asset files.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.bytes, m.retries, m.ops, m.opErrors, m.served,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stat := func(f func(cache.Stats) int64) func() float64 {
		return func() float64 { return float64(f(c.Stats())) }
	}
	for _, x := range []struct {
		name, help, tier string
		f                func(cache.Stats) int64
	}{
		{"stacfs_cache_hits_total", "Blocks served from the cache.", "memory", func(s cache.Stats) int64 { return s.Hits }},
		{"stacfs_cache_misses_total", "Blocks not in the cache when asked for.", "memory", func(s cache.Stats) int64 { return s.Misses }},
		{"stacfs_cache_evictions_total", "Blocks evicted to stay within the budget.", "memory", func(s cache.Stats) int64 { return s.Evictions }},
		{"stacfs_cache_hits_total", "Blocks served from the cache.", "disk", func(s cache.Stats) int64 { return s.DiskHits }},
		{"stacfs_cache_misses_total", "Blocks not in the cache when asked for.", "disk", func(s cache.Stats) int64 { return s.DiskMisses }},
		{"stacfs_cache_evictions_total", "Blocks evicted to stay within the budget.", "disk", func(s cache.Stats) int64 { return s.DiskEvictions }},
		// The shared tier counts units of objects and metadata answers.
		{"stacfs_cache_hits_total", "Blocks served from the cache.", "shared", func(s cache.Stats) int64 { return s.Shared.Hits }},
		{"stacfs_cache_misses_total", "Blocks not in the cache when asked for.", "shared", func(s cache.Stats) int64 { return s.Shared.Misses }},
		{"stacfs_cache_errors_total", "Failed or timed-out calls to a tier, and unusable values.", "shared", func(s cache.Stats) int64 { return s.Shared.Errors }},
		{"stacfs_cache_read_bytes_total", "Bytes read from a tier.", "shared", func(s cache.Stats) int64 { return s.Shared.Bytes }},
		{"stacfs_cache_stored_bytes_total", "Bytes written to a tier.", "shared", func(s cache.Stats) int64 { return s.Shared.StoredBytes }},
		{"stacfs_cache_lease_waits_total", "Waits for another node's fetch of the same unit.", "shared", func(s cache.Stats) int64 { return s.Shared.LeaseWaits }},
	} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: x.name, Help: x.help, ConstLabels: prometheus.Labels{"tier": x.tier},
		}, stat(x.f)))
	}
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "stacfs_cache_fetches_total", Help: "Range fetches made by the cache."}, stat(func(s cache.Stats) int64 { return s.Fetches })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stacfs_cache_resident_bytes", Help: "Bytes of blocks held, by tier.", ConstLabels: prometheus.Labels{"tier": "memory"}}, stat(func(s cache.Stats) int64 { return s.Bytes })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stacfs_cache_inflight_blocks", Help: "Blocks being fetched now."}, stat(func(s cache.Stats) int64 { return s.InFlight })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stacfs_cache_resident_bytes", Help: "Bytes of blocks held, by tier.", ConstLabels: prometheus.Labels{"tier": "disk"}}, stat(func(s cache.Stats) int64 { return s.DiskBytes })),
	)
	return m
}

// Tokens adds the token fetches of a catalog: refreshes and failures
// report the successful and failed fetches so far.
func (m *Metrics) Tokens(catalog string, refreshes, failures func() int64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "stacfs_token_refreshes_total", Help: "Access tokens fetched, by catalog.",
		ConstLabels: prometheus.Labels{"catalog": catalog},
	}, func() float64 { return float64(refreshes()) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "stacfs_token_failures_total", Help: "Token requests that failed, by catalog.",
		ConstLabels: prometheus.Labels{"catalog": catalog},
	}, func() float64 { return float64(failures()) }))
}

// Exchange implements remote.Observer.
func (m *Metrics) Exchange(method, origin string, status int, took time.Duration) {
	m.requests.WithLabelValues(origin, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(origin).Observe(took.Seconds())
}

// Bytes implements remote.Observer.
func (m *Metrics) Bytes(origin string, n int) { m.bytes.WithLabelValues(origin).Add(float64(n)) }

// Retry implements remote.Observer.
func (m *Metrics) Retry(_, origin string) { m.retries.WithLabelValues(origin).Inc() }

// Op records one FUSE operation (fs.Options.Observe).
func (m *Metrics) Op(op string, took time.Duration, errno syscall.Errno) {
	m.ops.WithLabelValues(op).Observe(took.Seconds())
	if errno != 0 {
		m.opErrors.WithLabelValues(op, errnoName(errno)).Inc()
	}
}

// Served counts bytes handed to readers (fs.Options.Served).
func (m *Metrics) Served(n int) { m.served.Add(float64(n)) }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func errnoName(e syscall.Errno) string {
	switch e {
	case syscall.ENOENT:
		return "ENOENT"
	case syscall.EIO:
		return "EIO"
	case syscall.EACCES:
		return "EACCES"
	case syscall.EINTR:
		return "EINTR"
	case syscall.ESTALE:
		return "ESTALE"
	case syscall.EROFS:
		return "EROFS"
	}
	return strconv.Itoa(int(e))
}
