package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestStatusErrorIs(t *testing.T) {
	sentinels := []error{ErrNotFound, ErrDenied, ErrChanged, ErrBadResponse}
	tests := []struct {
		code int
		want error // nil: matches none
	}{
		{404, ErrNotFound}, {410, ErrNotFound},
		{401, ErrDenied}, {403, ErrDenied},
		{412, ErrChanged},
		{400, nil}, {416, nil}, {429, nil}, {500, nil}, {503, nil},
	}
	for _, tt := range tests {
		var err error = &StatusError{Method: "GET", URL: "https://h/p", Code: tt.code}
		err = fmt.Errorf("wrapped: %w", err)
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == tt.want) {
				t.Errorf("%d: errors.Is(%v) = %v", tt.code, s, got)
			}
		}
		var se *StatusError
		if !errors.As(err, &se) || se.Code != tt.code {
			t.Errorf("%d: errors.As failed", tt.code)
		}
	}
}

func TestStatusErrorMessage(t *testing.T) {
	e := &StatusError{Method: "GET", URL: "https://h/p", Code: 404, Body: "secret body"}
	if got := e.Error(); got != "GET https://h/p: 404 not found" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&StatusError{Method: "GET", URL: "u", Code: 599}).Error(); got != "GET u: status 599" {
		t.Errorf("Error() = %q", got)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://h.example/a/b.tif?X-Amz-Signature=abc&X-Amz-Credential=k", "https://h.example/a/b.tif"},
		{"https://user:pass@h.example:8443/p#frag", "https://h.example:8443/p"},
		{"https://h.example/a%20b/c?sig=1", "https://h.example/a%20b/c"},
		{"https://h.example", "https://h.example"},
		{"s3://bucket/key?versionId=3", "s3://bucket/key"},
		{"/relative/path?token=x", "/relative/path"},
		{"https://u:p@h.example/%zz?sig=1", "https://h.example/%zz"},
		{"mailto:x@example.com?subject=s", "mailto:x@example.com"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestErrorsCarryNoQuery checks that no error, from any call, shows a URL's query.
func TestErrorsCarryNoQuery(t *testing.T) {
	const secret = "SECRETSIG"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/denied?sig="+secret+"2", http.StatusFound)
		case "/bad":
			_, _ = w.Write([]byte("{"))
		default:
			http.Error(w, "denied "+secret, http.StatusForbidden)
		}
	}))
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	defer srv.Close()
	ctx := context.Background()
	c := &Client{RetryBudget: 200 * time.Millisecond, retryBase: time.Millisecond} // "dead" is retried
	p := make([]byte, 4)
	calls := map[string]func() error{
		"ReadAt 403": func() error { _, err := c.ReadAt(ctx, srv.URL+"/denied?sig="+secret, p, 0, ""); return err },
		"ReadAt redirect": func() error {
			_, err := c.ReadAt(ctx, srv.URL+"/redirect?sig="+secret, p, 0, "")
			return err
		},
		"ReadAt dead":  func() error { _, err := c.ReadAt(ctx, deadURL+"/x?sig="+secret, p, 0, ""); return err },
		"Stat 403":     func() error { _, err := c.Stat(ctx, srv.URL+"/denied?sig="+secret); return err },
		"Stat dead":    func() error { _, err := c.Stat(ctx, deadURL+"/x?sig="+secret); return err },
		"Open 403":     func() error { _, _, err := c.Open(ctx, srv.URL+"/denied?sig="+secret); return err },
		"Open bad URL": func() error { _, _, err := c.Open(ctx, "http://h/\x7f?sig="+secret); return err },
		"Landing 403": func() error {
			_, err := (&Catalog{Client: c, URL: srv.URL + "/denied?sig=" + secret}).Landing(ctx)
			return err
		},
		"Landing bad JSON": func() error {
			_, err := (&Catalog{Client: c, URL: srv.URL + "/bad?sig=" + secret}).Landing(ctx)
			return err
		},
		"Landing dead": func() error {
			_, err := (&Catalog{Client: c, URL: deadURL + "/?sig=" + secret}).Landing(ctx)
			return err
		},
	}
	for name, call := range calls {
		err := call()
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "sig=") {
			t.Errorf("%s: error shows the query: %v", name, err)
		}
	}
}
