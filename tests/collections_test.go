package tests

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stacfs/stacfs/fakestac"
)

// TestMissingCollection: a configured collection the server does not have
// is left out of its catalog folder with an ERROR naming it, the catalog and
// what the server has; the others are shown. When none exists, the folder's
// listing fails with ENXIO (`ls` says so and exits non-zero), never an
// empty folder.
func TestMissingCollection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakestac.Options{})
	cfg := configFor(f.srv, `collections = ["S2", "NOPE"]`) + fmt.Sprintf("\n[catalogs.gone]\nurl = %q\ncollections = [\"GONE\", \"s2\"]\n", f.srv.STACURL)
	m := startMount(t, cfg, "--start-timeout", "5s") // every catalog: the root lists them

	// One missing: the other is shown.
	if got := strings.Join(ls(t, filepath.Join(m.Dir, "fake")), " "); got != "S2/" {
		t.Errorf("catalog with S2 and NOPE lists %q, want S2/", got)
	}
	if log, ok := m.logged("level=ERROR", "configured collection not found", "catalog=fake", "collection=NOPE", `server_has="3: EMPTY, EOP:ESA:BIO, S2"`); !ok {
		t.Errorf("no ERROR naming NOPE, the catalog and the server's collections:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "fake", "S2", "2023", "03", "15", "S2A_20230315_a", "item.json")); err != nil {
		t.Errorf("an item of the collection shown: %v", err)
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "fake", "NOPE")); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("stat NOPE: %v, want ENOENT", err)
	}
	if log := m.stderr.String(); strings.Count(log, "collection=NOPE") != 1 {
		t.Errorf("the ERROR is logged %d times, want once (per load, not per lookup):\n%s", strings.Count(log, "collection=NOPE"), log)
	}

	// All missing: the listing fails.
	gone := filepath.Join(m.Dir, "gone")
	out, err := exec.Command("ls", "-la", gone).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "No such device or address") {
		t.Errorf("ls -la of a catalog none of whose collections exists: %v\n%s\nwant an error (ENXIO)", err, out)
	}
	if _, err := os.ReadDir(gone); !errors.Is(err, syscall.ENXIO) {
		t.Errorf("listing: %v, want ENXIO", err)
	}
	if log, ok := m.logged("level=ERROR", "catalog=gone", "collection=s2", "did_you_mean=S2"); !ok {
		t.Errorf("no ERROR naming s2 with the closest id:\n%s", log)
	}
	if log, ok := m.logged("level=ERROR", "catalog=gone", "collection=GONE"); !ok {
		t.Errorf("no ERROR naming GONE:\n%s", log)
	}
}
