package tests

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// TestDeadAssetHost: an asset on a host that refuses connections costs the
// retry budget once; then the host is remembered as down and the next
// `ls -l` fails that file at once (EIO, as before), logged once.
func TestDeadAssetHost(t *testing.T) {
	t.Parallel()
	requireTool(t, "ls")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // connections are refused
	f := newFixture(t, fakestac.Options{})
	f.srv.AddItem(fakestac.Item{ID: "S2_deadhost", Collection: "S2", Datetime: ts("2023-03-19T10:00:00Z"),
		Assets: map[string]fakestac.Asset{
			"B02": {Href: dead + "/B02.tif"},
			"B03": {Path: "/data/s2/S2_deadhost/B03.tif", Size: 1000, Seed: 3},
		}})
	const budget = 3 * time.Second
	m := startMount(t, faultyConfig(f, budget.String(), "1s"))
	item := filepath.Join(m.Dir, "S2/2023/03/19/S2_deadhost")
	for i, bound := range []time.Duration{budget + 2*time.Second, budget / 2} {
		start := time.Now()
		out, err := exec.Command("ls", "-l", item).CombinedOutput()
		took := time.Since(start)
		t.Logf("ls -l %d: %v", i+1, took)
		if err == nil || !strings.Contains(string(out), "B02.tif': Input/output error") || !strings.Contains(string(out), "B03.tif") {
			t.Errorf("ls -l %d: %v\n%s\nwant B02.tif failing with EIO and B03.tif listed", i+1, err, out)
		}
		if took > bound {
			t.Errorf("ls -l %d took %v, want within %v", i+1, took, bound)
		}
		time.Sleep(1100 * time.Millisecond) // past the 2 s memo of failures with the first
	}
	if log, ok := m.logged("level=WARN", "host unreachable", "origin="+dead); !ok {
		t.Errorf("no WARN naming the host down:\n%s", log)
	}
}
