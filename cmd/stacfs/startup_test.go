package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
	"github.com/stacfs/stacfs/remote"
)

func TestStartPolicy(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	errHang := errors.New("hang") // the try waits for its deadline
	for _, tc := range []struct {
		name     string
		errs     []error // one per try; past the end: success
		total    time.Duration
		tries    int
		wantErr  string
		retrying int
	}{
		{"refused, then up", []error{refused, refused}, 5 * time.Second, 3, "", 2},
		{"503 then up", []error{&remote.StatusError{Code: 503}}, 5 * time.Second, 2, "", 1},
		{"429 is retried", []error{&remote.StatusError{Code: 429}}, 5 * time.Second, 2, "", 1},
		{"bad credentials fail at once", []error{&remote.TokenError{Status: 401, Code: "invalid_client"}}, 5 * time.Second, 1, "invalid_client", 0},
		{"404 fails at once", []error{&remote.StatusError{Code: 404}}, 5 * time.Second, 1, "404", 0},
		{"not a STAC document", []error{fmt.Errorf("x: %w", remote.ErrBadResponse)}, 5 * time.Second, 1, "bad response", 0},
		{"gives up", []error{refused, refused, refused, refused, refused, refused, refused, refused, refused, refused, refused, refused, refused}, 300 * time.Millisecond, 0, "landing page: dial tcp: connection refused (gave up after ", -1},
		{"no answer, then up", []error{errHang, errHang}, 5 * time.Second, 3, "", 2},
		{"never answers", []error{errHang, errHang, errHang, errHang, errHang, errHang, errHang, errHang, errHang, errHang}, 300 * time.Millisecond, 0, "landing page: no response from http://x/ within ", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tries, retrying int
			p := startPolicy{total: tc.total, first: 20 * time.Millisecond, try: 50 * time.Millisecond,
				retrying: func(step string, attempt int, err error, wait time.Duration) {
					retrying++
					if step != "landing page" || attempt != retrying || wait <= 0 || !strings.HasPrefix(err.Error(), "landing page: ") {
						t.Errorf("retrying(%q, %d, %v, %v)", step, attempt, err, wait)
					}
				}}
			err := p.do(t.Context(), "landing page", "http://x/", func(ctx context.Context) error {
				tries++
				if tries > len(tc.errs) {
					return nil
				}
				if err := tc.errs[tries-1]; err != errHang {
					return err
				}
				<-ctx.Done() // a server that accepted and never answers
				return ctx.Err()
			})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Count(err.Error(), "landing page") != 1 {
				t.Errorf("err %q names the step more than once", err)
			}
			if tc.tries > 0 && tries != tc.tries {
				t.Errorf("%d tries, want %d", tries, tc.tries)
			}
			if tc.retrying >= 0 && retrying != tc.retrying {
				t.Errorf("%d retry reports, want %d", retrying, tc.retrying)
			}
		})
	}
}

// TestStartCatalogWaitsForServer: at boot the server is not up yet; the
// start-up steps try again until it is, logging each try.
func TestStartCatalogWaitsForServer(t *testing.T) {
	s := fakestac.New(fakestac.Options{})
	defer s.Close()
	addr := closedPort(t)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		serveOn(t, addr, s)
	}()
	cfg, err := ParseConfig("x.toml", fmt.Sprintf("[catalogs.late]\nurl = %q\n", apiURL(s, addr)))
	if err != nil {
		t.Fatal(err)
	}
	cc := cfg.Catalogs["late"]
	client, err := newClient(cfg, cc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var retries atomic.Int32
	p := startPolicy{total: 20 * time.Second, first: 200 * time.Millisecond,
		retrying: func(string, int, error, time.Duration) { retries.Add(1) }}
	start := time.Now()
	if _, err := startCatalog(t.Context(), cc, client, p); err != nil {
		t.Fatalf("start-up failed after %v: %v", time.Since(start), err)
	}
	if retries.Load() < 2 {
		t.Errorf("%d retries reported, want a line per try while the server was down", retries.Load())
	}
}

// TestCheckEveryProblem: one run reports every catalog and every problem
// (a missing credentials file, a view the server cannot serve, a secrets
// file readable by others) and still checks the healthy catalog.
func TestCheckEveryProblem(t *testing.T) {
	pub := fakestac.New(fakestac.Options{})
	defer pub.Close()
	pub.AddCollection(fakestac.Collection{ID: "s2"})
	dir := t.TempDir()
	loose := filepath.Join(dir, "token")
	if err := os.WriteFile(loose, []byte("tok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`
[catalogs.pub]
url = %[1]q

[catalogs.nocreds]
preset = "esa-maap"
[catalogs.nocreds.auth]
credentials_file = %[2]q

[catalogs.filtered]
url = %[1]q
[catalogs.filtered.views.clear]
filter = "eo:cloud_cover < 20"

[catalogs.loose]
url = %[1]q
[catalogs.loose.auth]
type = "bearer"
token_file = %[3]q
`, pub.STACURL, filepath.Join(dir, "missing-credentials.txt"), loose)
	var out strings.Builder
	code := run(t.Context(), []string{"check", "--config", writeFile(t, "config.toml", text)}, &out, &out)
	t.Logf("check:\n%s", out.String())
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		`FAIL config `, `"catalogs.nocreds.auth.credentials_file"`,
		`FAIL filtered: views: view "clear" uses filter, but the server does not conform to https://api.stacspec.org/v1.0.0/item-search#filter`,
		"WARN a file holding secrets is readable by others; run chmod 600 on it: file=" + loose + " mode=0644 catalog=loose",
		"ok   pub: landing page", "ok   pub: collections", "ok   loose: landing page", "ok   filtered: collections",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
