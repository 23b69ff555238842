package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stacfs/stacfs/remote"
)

// TestConfiguredCollectionsMissing: a configured collection the server
// answers 404 for is left out with one ERROR log per load naming it, the
// catalog and what the server has; when none exists the listing fails with
// ErrNoCollections (never an empty listing, never ENOENT's ErrNotFound);
// any other failure fails the listing.
func TestConfiguredCollectionsMissing(t *testing.T) {
	src := &fakeSource{
		cols:   []remote.Collection{{ID: "S2"}, {ID: "landsat-c2-l2"}, {ID: "sentinel-2-l2a"}},
		colErr: map[string]error{"flaky": &remote.StatusError{Method: "GET", URL: "https://stac.example/collections/flaky", Code: 503}},
	}
	cases := []struct {
		name      string
		configure []string
		want      []string // collection folders
		errIs     error    // the listing's error
		logs      []string // in the log, once each
		listErr   error    // the server's listing of its collections fails
	}{
		{name: "all exist", configure: []string{"sentinel-2-l2a", "S2"}, want: []string{"S2", "sentinel-2-l2a"}},
		{
			name: "one missing", configure: []string{"S2", "NOPE"}, want: []string{"S2"},
			logs: []string{`level=ERROR msg="configured collection not found on the server: left out of the catalog" catalog=t collection=NOPE server_has="3: S2, landsat-c2-l2, sentinel-2-l2a"` + "\n"},
		},
		{
			name: "typo", configure: []string{"sentinel2-l2a", "S2"}, want: []string{"S2"},
			logs: []string{"collection=sentinel2-l2a server_has=\"3: S2, landsat-c2-l2, sentinel-2-l2a\" did_you_mean=sentinel-2-l2a\n"},
		},
		{
			name: "all missing", configure: []string{"NOPE", "s3"}, errIs: ErrNoCollections,
			logs: []string{
				`level=ERROR msg="configured collection not found on the server: none of the catalog's collections exists, its folder fails to list" catalog=t collection=NOPE server_has=`,
				"collection=s3 server_has=\"3: S2, landsat-c2-l2, sentinel-2-l2a\" did_you_mean=S2\n",
			},
		},
		{
			name: "one missing, the server's listing fails", configure: []string{"S2", "NOPE"}, want: []string{"S2"},
			listErr: errors.New("list collections: 502"),
			logs:    []string{`catalog=t collection=NOPE server_has=unknown list_err="list collections: 502"` + "\n"},
		},
		{name: "one 5xx", configure: []string{"S2", "flaky", "NOPE"}, errIs: src.colErr["flaky"]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src.listErr = c.listErr
			var log bytes.Buffer
			clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			cat := New(src, nil, Options{Name: "t", Collections: c.configure, TTL: time.Minute,
				Now:    func() time.Time { return clock },
				Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{ReplaceAttr: dropTime}))})
			for range 3 { // one load: the lookups after it log nothing
				cols, err := cat.Collections(context.Background())
				if c.errIs != nil {
					if !errors.Is(err, c.errIs) || errors.Is(err, remote.ErrNotFound) {
						t.Fatalf("listing: %v, want %v (and not ErrNotFound, which is ENOENT)", err, c.errIs)
					}
					if len(cols) != 0 {
						t.Errorf("a failed listing shows %v", cols)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, col := range cols {
					names = append(names, col.Name)
				}
				if strings.Join(names, " ") != strings.Join(c.want, " ") {
					t.Errorf("listed %v, want %v", names, c.want)
				}
				if _, err := cat.FindCollection(context.Background(), c.want[0]); err != nil {
					t.Errorf("find %s: %v", c.want[0], err)
				}
			}
			text := log.String()
			t.Logf("log:\n%s", text)
			for _, w := range c.logs {
				if n := strings.Count(text, w); n != 1 {
					t.Errorf("log holds %q %d times, want once", w, n)
				}
			}
			if len(c.logs) == 0 && strings.Contains(text, "ERROR") {
				t.Errorf("unexpected ERROR log:\n%s", text)
			}
		})
	}
	// The error of a catalog none of whose collections exists names them.
	cat := New(src, nil, Options{Name: "loop", Collections: []string{"NOPE", "TYPO"}, Logger: slog.New(slog.DiscardHandler)})
	if _, err := cat.Collections(context.Background()); err == nil || err.Error() != `catalog "loop": none of the configured collections exists on the server (NOPE, TYPO)` {
		t.Errorf("error %v", err)
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func TestListIDsAndClosest(t *testing.T) {
	many := make([]string, 57)
	for i := range many {
		many[i] = fmt.Sprintf("c%02d", 56-i)
	}
	for _, c := range []struct {
		ids  []string
		want string
	}{
		{nil, "none"},
		{[]string{"b", "a", "c"}, "3: a, b, c"},
		{many, "57: c00, c01, c02, c03, c04, c05, c06, c07, c08, c09 and 47 more"},
	} {
		if got := ListIDs(c.ids); got != c.want {
			t.Errorf("ListIDs(%v) = %q, want %q", c.ids, got, c.want)
		}
	}
	have := []string{"sentinel-2-l2a-demo", "landsat-c2-l2", "S2", "sentinel-1-grd"}
	for _, c := range []struct{ id, want string }{
		{"sentinel2-l2a-demo", "sentinel-2-l2a-demo"},
		{"s2", "S2"},
		{"landsat-c2l2", "landsat-c2-l2"},
		{"typo-collection", ""},
		{"NOPE", ""},
		{"S2", ""}, // itself is no suggestion
		{"sentinel-1-grd-x", "sentinel-1-grd"},
	} {
		if got := Closest(c.id, have); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.id, got, c.want)
		}
	}
}
