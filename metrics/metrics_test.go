package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/cache"
)

func TestMetricsExposition(t *testing.T) {
	c, err := cache.New(cache.Options{Memory: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	m := New(c)
	m.Tokens("esa", func() int64 { return 3 }, func() int64 { return 1 })
	m.Exchange("GET", "https://h", 206, 20*time.Millisecond)
	m.Exchange("GET", "https://h", 0, time.Second)
	m.Bytes("https://h", 1000)
	m.Retry("GET", "https://h")
	m.Op("read", time.Millisecond, 0)
	m.Op("lookup", time.Millisecond, syscall.ENOENT)
	m.Served(4096)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`stacfs_http_requests_total{method="GET",origin="https://h",status="206"} 1`,
		`stacfs_http_requests_total{method="GET",origin="https://h",status="0"} 1`,
		`stacfs_http_response_bytes_total{origin="https://h"} 1000`,
		`stacfs_http_retries_total{origin="https://h"} 1`,
		`stacfs_token_refreshes_total{catalog="esa"} 3`,
		`stacfs_token_failures_total{catalog="esa"} 1`,
		`stacfs_fuse_op_seconds_count{op="read"} 1`,
		`stacfs_fuse_op_errors_total{errno="ENOENT",op="lookup"} 1`,
		`stacfs_read_bytes_total 4096`,
		`stacfs_cache_hits_total{tier="memory"} 0`,
		`stacfs_cache_hits_total{tier="disk"} 0`,
		`stacfs_cache_hits_total{tier="shared"} 0`,
		`stacfs_cache_errors_total{tier="shared"} 0`,
		`stacfs_cache_lease_waits_total{tier="shared"} 0`,
		`stacfs_cache_inflight_blocks 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
