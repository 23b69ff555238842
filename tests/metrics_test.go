package tests

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// freeAddr returns a loopback address nobody listens on now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// metricValue sums the samples of a metric whose labels hold every given
// label pair (e.g. `op="read"`).
func metricValue(t *testing.T, text, name string, labels ...string) float64 {
	t.Helper()
	var sum float64
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? ([0-9.e+-]+)$`)
	for _, line := range strings.Split(text, "\n") {
		mm := re.FindStringSubmatch(line)
		if mm == nil {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(mm[1], l)
		}
		if ok {
			v, _ := strconv.ParseFloat(mm[2], 64)
			sum += v
		}
	}
	return sum
}

// TestMetrics scrapes --metrics after a known workload.
func TestMetrics(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	addr := freeAddr(t)
	m := startMount(t, configFor(f.srv, ""), "--catalog", "fake", "--metrics", addr)
	item := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a")
	data, err := os.ReadFile(filepath.Join(item, "B08.tif"))
	if err != nil {
		t.Fatal(err)
	}
	dropPageCache(t, filepath.Join(item, "B08.tif"))
	if _, err := os.ReadFile(filepath.Join(item, "B08.tif")); err != nil { // from the block cache
		t.Fatal(err)
	}
	os.Stat(filepath.Join(item, "nope.aux.xml"))
	origin := `origin="` + f.srv.URL + `"`
	checks := []struct {
		name   string
		labels []string
		min    float64
		max    float64
	}{
		{"stacfs_http_requests_total", []string{origin, `status="206"`}, 1, 1e9},
		{"stacfs_http_requests_total", []string{origin, `status="200"`}, 1, 1e9}, // the STAC API
		{"stacfs_http_response_bytes_total", []string{origin}, float64(len(data)), 1e12},
		{"stacfs_read_bytes_total", nil, float64(2 * len(data)), float64(2 * len(data))},
		{"stacfs_cache_hits_total", []string{`tier="memory"`}, 1, 1e9},
		{"stacfs_cache_misses_total", []string{`tier="memory"`}, 1, 1e9},
		{"stacfs_fuse_op_seconds_count", []string{`op="read"`}, 2, 1e9},
		{"stacfs_fuse_op_seconds_count", []string{`op="lookup"`}, 5, 1e9},
		{"stacfs_fuse_op_errors_total", []string{`op="lookup"`, `errno="ENOENT"`}, 1, 1e9},
	}
	// A counter may be added to just after the reply the test saw (a response's bytes once
	// its body is closed, a FUSE op once its reply is sent): scrape until every value is in
	// its range, and report the last scrape's values after a while.
	var text string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		text = scrapeMetrics(t, addr)
		var bad []string
		for _, c := range checks {
			if v := metricValue(t, text, c.name, c.labels...); v < c.min || v > c.max {
				bad = append(bad, fmt.Sprintf("%s%v = %v, want in [%v, %v]", c.name, c.labels, v, c.min, c.max))
			}
		}
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, b := range bad {
				t.Error(b)
			}
			break
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", text)
	}
}

// scrapeMetrics returns the text of the metrics endpoint at addr.
func scrapeMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
