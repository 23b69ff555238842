package tests

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// TestLookupWhileSearchDown: with the STAC API's search answering 503, a
// month folder fails with EIO, never ENOENT ("no data that month", which
// the kernel would cache for the negative entry timeout): one not listed
// yet, and one its year's last listing (past its TTL, its reload failing)
// does not hold; once the API is back the month answers as it is.
func TestLookupWhileSearchDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, faultyConfig(f, "2s", "1s"))
	months := ls(t, filepath.Join(m.Dir, "S2/2024"))
	absent := ""
	for i := 1; i <= 12 && absent == ""; i++ {
		if s := fmt.Sprintf("%02d", i); !slices.Contains(months, s+"/") {
			absent = s
		}
	}
	if absent == "" {
		t.Fatalf("S2/2024 holds every month: %q", months)
	}
	var mu sync.Mutex
	down := true
	f.srv.SetFault(func(r *http.Request) *fakestac.Fault {
		mu.Lock()
		defer mu.Unlock()
		if down && strings.HasPrefix(r.URL.Path, "/stac") {
			return &fakestac.Fault{Status: http.StatusServiceUnavailable}
		}
		return nil
	})
	time.Sleep(1100 * time.Millisecond) // the year's listing is past its TTL
	for _, p := range []string{"S2/2024/" + absent, "S2/2023/03"} {
		start := time.Now()
		out, err := clientCommand(t, "ls", filepath.Join(m.Dir, p)).CombinedOutput()
		t.Logf("ls %s: %v after %v: %s", p, err, time.Since(start).Round(time.Millisecond), out)
		if err == nil || !strings.Contains(string(out), "Input/output error") {
			t.Errorf("ls %s while the API is down: %v %s, want EIO", p, err, out)
		}
	}
	mu.Lock()
	down = false
	mu.Unlock()
	time.Sleep(2100 * time.Millisecond) // failed reloads are tried again after 2 s
	out, err := clientCommand(t, "ls", filepath.Join(m.Dir, "S2/2024", absent)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "No such file or directory") {
		t.Errorf("ls S2/2024/%s after the outage: %v %s, want ENOENT", absent, err, out)
	}
	if got := ls(t, filepath.Join(m.Dir, "S2/2023/03")); len(got) == 0 {
		t.Errorf("S2/2023/03 after the outage: %q", got)
	}
}
