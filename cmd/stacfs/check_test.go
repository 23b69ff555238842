package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

func TestCheck(t *testing.T) {
	// A healthy public catalog: two collections, one item in the first.
	pub := fakestac.New(fakestac.Options{SearchGET: true, SearchPOST: true, NumberMatched: true,
		Conformance: []string{"https://api.stacspec.org/v1.0.0/item-search#fields", "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
			"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter"}})
	defer pub.Close()
	day := time.Date(2024, 3, 14, 10, 0, 0, 0, time.UTC)
	pub.AddCollection(fakestac.Collection{ID: "s2", Title: "Sentinel-2"})
	pub.AddCollection(fakestac.Collection{ID: "empty", Title: "Nothing"})
	pub.AddItem(fakestac.Item{ID: "S2B_1", Collection: "s2", Datetime: &day, Bbox: []float64{1, 2, 3, 4},
		Assets: map[string]fakestac.Asset{"B04": {Path: "/data/S2B_1/B04.tif", Size: 100_000, Seed: 3}}})

	// ESA MAAP with a wrong client secret.
	esa := fakestac.NewESAMAAP(fakestac.ESAOptions{})
	defer esa.Close()
	const wrongSecret = "wrong-secret-c0ffee"
	creds := writeFile(t, "credentials.txt", fmt.Sprintf("CLIENT_ID=%s\nCLIENT_SECRET=%s\nOFFLINE_TOKEN=%s\n",
		esa.ClientID, wrongSecret, esa.OfflineToken))
	goodCreds := writeFile(t, "credentials.txt", fmt.Sprintf("CLIENT_ID=%s\nCLIENT_SECRET=%s\nOFFLINE_TOKEN=%s\n",
		esa.ClientID, esa.ClientSecret, esa.OfflineToken))
	esaConfig := func(creds string) string {
		return fmt.Sprintf("[catalogs.pub]\nurl = %q\n\n[catalogs.esa]\npreset = \"esa-maap\"\nurl = %q\n\n[catalogs.esa.auth]\ntoken_url = %q\ncredentials_file = %q\n",
			pub.STACURL, esa.STACURL, esa.TokenURL, creds)
	}

	// A catalog whose collection "flaky" fails with 503.
	flaky := fakestac.New(fakestac.Options{})
	defer flaky.Close()
	flaky.AddCollection(fakestac.Collection{ID: "s2"})
	flaky.SetFault(func(r *http.Request) *fakestac.Fault {
		if strings.HasSuffix(r.URL.Path, "/collections/flaky") {
			return &fakestac.Fault{Status: 503}
		}
		return nil
	})

	// An unreachable catalog: a closed server.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/stac/"
	dead.Close()

	cases := []struct {
		name     string
		config   string // written to a file passed as --config; "" = no --config
		args     []string
		status   int
		want     []string // lines (prefixes) in the output
		notWant  []string
		maxTakes time.Duration
	}{
		{
			name:   "healthy public catalog",
			config: fmt.Sprintf("[catalogs.pub]\nurl = %q\n", pub.STACURL),
			status: 0,
			want: []string{
				"ok   config ",
				"ok   pub: landing page (id fakestac, 9 conformance classes: core collections item-search filter fields, search GET+POST)",
				"ok   pub: collections (2: s2, empty)",
				"ok   pub: item search in s2 (limit 1): ok, item S2B_1, 1 matched",
				"ok   pub: asset read (B04 of S2B_1, " + pub.URL + "/data/S2B_1/B04.tif): 16384 bytes of 100000",
				"5 checks ok, 0 failed",
			},
		},
		{
			name:   "configured collection that is empty",
			config: fmt.Sprintf("[catalogs.pub]\nurl = %q\ncollections = [\"empty\"]\n", pub.STACURL),
			args:   []string{"--catalog", "pub"},
			status: 0,
			want:   []string{"ok   pub: configured collections found (1: empty)", "ok   pub: item search in empty (limit 1): empty", "5 checks ok, 0 failed"},
		},
		{
			name:   "configured collection that does not exist",
			config: fmt.Sprintf("[catalogs.pub]\nurl = %q\ncollections = [\"s2\", \"typo-collection\"]\n", pub.STACURL),
			status: 1,
			want: []string{
				`FAIL pub: collection "typo-collection" not found (the server has 2: empty, s2)` + "\n",
				"ok   pub: configured collections found (1 of 2: s2)\n",
				"ok   pub: item search in s2 (limit 1): ok, item S2B_1, 1 matched",
				"ok   pub: asset read (B04 of S2B_1, ",
				"6 checks ok, 1 failed",
			},
		},
		{
			name:   "configured collection with a typo, first",
			config: fmt.Sprintf("[catalogs.pub]\nurl = %q\ncollections = [\"S-2\", \"empty\"]\n", pub.STACURL),
			status: 1,
			want: []string{
				`FAIL pub: collection "S-2" not found: did you mean s2? (the server has 2: empty, s2)` + "\n",
				"ok   pub: configured collections found (1 of 2: empty)\n",
				"ok   pub: item search in empty (limit 1): empty",
				"5 checks ok, 1 failed",
			},
		},
		{
			name: "no configured collection exists",
			config: fmt.Sprintf("[catalogs.pub]\nurl = %q\ncollections = [\"nope\"]\n\n[catalogs.pub.views.v]\ncollections = [\"nope\"]\n",
				pub.STACURL),
			status:  1,
			want:    []string{`FAIL pub: collection "nope" not found (the server has 2: empty, s2)` + "\n", "3 checks ok, 1 failed"},
			notWant: []string{"configured collections found", "item search"},
		},
		{
			name: "a view's collection that does not exist",
			config: fmt.Sprintf("[catalogs.pub]\nurl = %q\n\n[catalogs.pub.views.clear]\ncollections = [\"s2\", \"sentinel\"]\n",
				pub.STACURL),
			status: 1,
			want: []string{
				`FAIL pub: view clear: collection "sentinel" not found (the server has 2: empty, s2)` + "\n",
				"ok   pub: configured collections found (1 of 2: s2)\n",
				"ok   pub: item search in s2 (limit 1): ok",
			},
		},
		{
			name: "configured collection that fails with 503",
			config: fmt.Sprintf("[network]\nretry_budget = \"2s\"\n\n[catalogs.flaky]\nurl = %q\ncollections = [\"flaky\", \"s2\"]\n",
				flaky.STACURL),
			status:   1,
			want:     []string{`FAIL flaky: collection "flaky": gave up after `, "503 service unavailable", "ok   flaky: configured collections found (1 of 2: s2)\n"},
			notWant:  []string{"not found", `"flaky": collection flaky`},
			maxTakes: 15 * time.Second,
		},
		{
			name:   "ESA MAAP signed in",
			config: esaConfig(goodCreds),
			args:   []string{"--catalog", "esa"},
			status: 0,
			want: []string{
				"ok   esa: token (refresh_token)",
				"ok   esa: collections (2: BiomassLevel1b, BiomassLevel2a)",
				"ok   esa: item search in BiomassLevel1b (limit 1): ok, item BIO_",
				"ok   esa: asset read (",
				"6 checks ok, 0 failed",
			},
			notWant: []string{esa.ClientSecret, esa.OfflineToken, "eyJ", "pub:"},
		},
		{
			name:    "ESA MAAP with a wrong client secret",
			config:  esaConfig(creds),
			status:  1,
			want:    []string{"FAIL esa: token: 401 invalid_client", "ok   pub: landing page", "5 checks ok, 1 failed"},
			notWant: []string{wrongSecret, esa.ClientSecret, esa.OfflineToken, "eyJ", "esa: landing page"},
		},
		{
			name: "unreachable catalog",
			config: fmt.Sprintf("[network]\nretry_budget = \"2s\"\n\n[catalogs.dead]\nurl = %q\n",
				deadURL),
			status: 1,
			want: []string{"FAIL dead: landing page: Get \"" + deadURL, "connection refused (gave up after ",
				"1 check ok, 1 failed", "...  dead: landing page: Get ", "(try 1; trying again in 1s)"},
			// The step and the cause once each; no retry of the client's own.
			notWant:  []string{"landing page: landing page", "attempts"},
			maxTakes: 15 * time.Second,
		},
		{
			name:   "unknown catalog",
			config: fmt.Sprintf("[catalogs.pub]\nurl = %q\n", pub.STACURL),
			args:   []string{"--catalog", "nope"},
			status: 1,
			want:   []string{`FAIL config `, `no catalog "nope" (have: pub)`, "0 checks ok, 1 failed"},
		},
		{
			name:   "bad config",
			config: "[catalogs.x]\nurl = \"ftp://example.com/\"\n",
			status: 1,
			want:   []string{`FAIL config `, `"catalogs.x.url"`, "0 checks ok, 1 failed"},
		},
		{
			name:   "missing config",
			args:   []string{"--config", filepath.Join(t.TempDir(), "none.toml")},
			status: 1,
			want:   []string{"FAIL config: open ", "0 checks ok, 1 failed"},
		},
		{name: "help", args: []string{"--help"}, status: 0, want: []string{"Usage: stacfs check"}},
		{name: "unknown flag", args: []string{"--bogus"}, status: 2, want: []string{"unknown flag: --bogus"}},
		{name: "argument", args: []string{"extra"}, status: 2, want: []string{"check takes no arguments"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"check"}
			if c.config != "" {
				args = append(args, "--config", writeFile(t, "config.toml", c.config))
			}
			args = append(args, c.args...)
			var out bytes.Buffer
			start := time.Now()
			status := run(context.Background(), args, &out, &out)
			took := time.Since(start)
			text := out.String()
			t.Logf("stacfs %s (%v):\n%s", strings.Join(args, " "), took.Round(time.Millisecond), text)
			if status != c.status {
				t.Errorf("exit status %d, want %d", status, c.status)
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, nw := range c.notWant {
				if strings.Contains(text, nw) {
					t.Errorf("output holds %.12q", nw)
				}
			}
			if c.maxTakes > 0 && took > c.maxTakes {
				t.Errorf("took %v, want at most %v", took, c.maxTakes)
			}
		})
	}
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
