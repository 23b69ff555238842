package tests

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stacfs/stacfs/fakestac"
)

// TestRefresh: an item published after a day was listed shows only after
// metadata_ttl, or at once after `stacfs refresh` of the day (or a folder
// above it).
func TestRefresh(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	day := filepath.Join(m.Dir, "S2/2023/03/15")
	before := ls(t, day)
	f.srv.AddItem(fakestac.Item{ID: "S2_NEW", Collection: "S2", Datetime: ts("2023-03-15T12:00:00Z")})
	f.srv.AddItem(fakestac.Item{ID: "S2_NEWDAY", Collection: "S2", Datetime: ts("2023-03-27T12:00:00Z")})
	if got := ls(t, day); !slices.Equal(got, before) {
		t.Fatalf("the day changed before refresh (metadata_ttl is 5m): %v", got)
	}
	out, errOut, code := runStacfs(t, "refresh", day)
	if code != 0 || !strings.Contains(out, "refreshed") {
		t.Fatalf("refresh: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := ls(t, day); !slices.Contains(got, "S2_NEW/") {
		t.Errorf("after refresh of the day: %v, want S2_NEW", got)
	}
	if got := ls(t, filepath.Join(m.Dir, "S2/2023/03")); slices.Contains(got, "27/") {
		t.Errorf("the month was refreshed with the day: %v", got)
	}
	if _, _, code := runStacfs(t, "refresh", filepath.Join(m.Dir, "S2")); code != 0 {
		t.Fatalf("refresh of the collection: exit %d", code)
	}
	if got := ls(t, filepath.Join(m.Dir, "S2/2023/03")); !slices.Contains(got, "27/") {
		t.Errorf("after refresh of the collection, March: %v, want day 27", got)
	}
	if _, errOut, code := runStacfs(t, "refresh", t.TempDir()); code != 2 || !strings.Contains(errOut, "not in a stacfs mount") {
		t.Errorf("refresh outside a mount: exit %d, %s", code, errOut)
	}
}
