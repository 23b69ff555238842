package remote

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// edlReader returns a reader of e's assets signed in with cfg (Type edl with e's
// credentials when cfg is zero).
func edlReader(t *testing.T, e *fakestac.Earthdata, cfg AuthConfig) (*SignedReader, *Redirects, *Tokens) {
	t.Helper()
	if cfg.Type == "" {
		cfg = AuthConfig{Type: AuthEDL, TokenURL: e.TokenURL, Username: e.Username, Password: e.Password}
	}
	tokens, err := NewTokens(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Earthdata Login is in the scope, as urs.earthdata.nasa.gov is under the preset's
	// *.earthdata.nasa.gov.
	scope, err := NewScope(e.STACURL, []string{e.TEAURL, e.URS.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{Auth: &Auth{Tokens: tokens, Scope: scope}, RetryBudget: 5 * time.Second}
	d := &Redirects{Client: c}
	return &SignedReader{Client: c, Signer: d}, d, tokens
}

func TestRedirectsReusePresignedURL(t *testing.T) {
	t.Parallel()
	e := fakestac.NewEarthdata(fakestac.EarthdataOptions{})
	defer e.Close()
	rd, d, _ := edlReader(t, e, AuthConfig{})
	ctx := context.Background()
	href := e.Hrefs[e.Items[0]+"/ramp"]
	for i := range 20 {
		p := make([]byte, 50_000)
		off := int64(i) * 150_000
		if _, err := rd.ReadAt(ctx, href, p, off, ""); err != nil {
			t.Fatalf("range %d: %v", i, err)
		}
		if !bytes.Equal(p, fakestac.RampBytes(21, off, int64(len(p)))) {
			t.Fatalf("range %d: wrong bytes", i)
		}
	}
	if n := e.TEA.Count("/"); n != 1 || d.Resolves() != 1 {
		t.Errorf("%d requests to the download host for 20 ranges, want 1", n)
	}
	if n := e.TokensCreated(); n != 1 {
		t.Errorf("%d EDL tokens, want 1", n)
	}
	for _, r := range e.S3.Requests() {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the presigned URL got an Authorization header: %s", r.Path)
		}
	}
	for _, r := range e.TEA.Requests() {
		if r.Header.Get("Authorization") == "" {
			t.Errorf("the download host got no bearer: %s", r.Path)
		}
	}
}

func TestRedirectsRenewExpiringURL(t *testing.T) {
	t.Parallel()
	e := fakestac.NewEarthdata(fakestac.EarthdataOptions{PresignTTL: 3 * time.Second})
	defer e.Close()
	rd, _, _ := edlReader(t, e, AuthConfig{})
	ctx := context.Background()
	href := e.Hrefs[e.Items[1]+"/ramp"]
	end := time.Now().Add(7 * time.Second)
	reads := 0
	for time.Now().Before(end) {
		p := make([]byte, 4096)
		off := int64(reads) * 4096
		if _, err := rd.ReadAt(ctx, href, p, off, ""); err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		if !bytes.Equal(p, fakestac.RampBytes(22, off, 4096)) {
			t.Fatalf("read %d: wrong bytes", reads)
		}
		reads++
		time.Sleep(50 * time.Millisecond)
	}
	// max-age is 2 s (3/4 of 3 s, whole seconds), reused until a tenth before.
	if n := e.TEA.Count("/"); n < 3 || n > 6 {
		t.Errorf("%d redirects for %d reads over 7 s of 3 s URLs, want one per URL lifetime", n, reads)
	}
}

func TestRedirectsStaleTokenRenewedOnce(t *testing.T) {
	t.Parallel()
	e := fakestac.NewEarthdata(fakestac.EarthdataOptions{TokenTTL: 1500 * time.Millisecond})
	defer e.Close()
	rd, _, _ := edlReader(t, e, AuthConfig{})
	ctx := context.Background()
	for i, id := range e.Items {
		if i > 0 {
			time.Sleep(2 * time.Second) // the token is now stale at the download host
		}
		if _, _, err := rd.ReadHead(ctx, e.Hrefs[id+"/ramp"], 100); err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
	}
	if n := e.TokensCreated(); n != 2 {
		t.Errorf("%d EDL tokens, want 2 (one renewal after the sign-in redirect)", n)
	}
	if n := e.URS.Count("/oauth"); n != 0 {
		t.Errorf("%d requests followed the redirect to the sign-in page", n)
	}
}

func TestRedirectsRefusedToken(t *testing.T) {
	t.Parallel()
	e := fakestac.NewEarthdata(fakestac.EarthdataOptions{})
	defer e.Close()
	rd, _, _ := edlReader(t, e, AuthConfig{Type: AuthBearer, Token: "EDL-not-a-live-token"})
	_, _, err := rd.ReadHead(context.Background(), e.Hrefs[e.Items[0]+"/B04"], 100)
	if !errors.Is(err, ErrDenied) || !errors.Is(err, ErrAuthRedirect) {
		t.Fatalf("a dead token: %v, want ErrAuthRedirect", err)
	}
	if n := e.TEA.Count("/"); n != 2 {
		t.Errorf("%d requests to the download host, want 2 (the read, one retry)", n)
	}
	rd, _, _ = edlReader(t, e, AuthConfig{Type: AuthEDL, TokenURL: e.TokenURL, Username: e.Username, Password: "wrong-pw-1234"})
	_, _, err = rd.ReadHead(context.Background(), e.Hrefs[e.Items[0]+"/B04"], 100)
	var te *TokenError
	if !errors.As(err, &te) || te.Status != 401 || te.Code != "invalid_credentials" {
		t.Fatalf("a wrong password: %v, want the token server's 401 invalid_credentials", err)
	}
	if bytes.Contains([]byte(err.Error()), []byte("wrong-pw-1234")) {
		t.Error("the password appears in the error")
	}
}

func TestRedirectsEULA(t *testing.T) {
	t.Parallel()
	e := fakestac.NewEarthdata(fakestac.EarthdataOptions{})
	defer e.Close()
	rd, _, _ := edlReader(t, e, AuthConfig{})
	href := e.Hrefs["EULA_ITEM_1/data"]
	_, _, err := rd.ReadHead(context.Background(), href, 100)
	var eula *EULAError
	if !errors.As(err, &eula) || !errors.Is(err, ErrDenied) || eula.ResolutionURL != e.ResolutionURL() {
		t.Fatalf("EULA not accepted: %v, want an EULAError naming %s", err, e.ResolutionURL())
	}
	e.AcceptEULA()
	if _, _, err := rd.ReadHead(context.Background(), href, 100); err != nil {
		t.Fatalf("after accepting the EULA: %v", err)
	}
}

func TestMaxAge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"private, max-age=3540", 3540 * time.Second, true},
		{"max-age=0", 0, true},
		{"no-store", 0, false},
		{"MAX-AGE=\"60\", private", time.Minute, true},
		{"max-age=-1", 0, false},
	} {
		got, ok := maxAge(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("maxAge(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestClientSignInInsideScope: a Client reading a download host straight (no Redirects)
// with a dead token is sent to Earthdata Login, which is inside the scope: the chain ends
// there with ErrAuthRedirect (after one renewal), and never reads the sign-in page.
func TestClientSignInInsideScope(t *testing.T) {
	t.Parallel()
	e := fakestac.NewEarthdata(fakestac.EarthdataOptions{})
	defer e.Close()
	rd, _, _ := edlReader(t, e, AuthConfig{Type: AuthBearer, Token: "EDL-dead-token"})
	_, _, err := rd.Client.ReadHead(context.Background(), e.Hrefs[e.Items[0]+"/B04"], 100)
	if !errors.Is(err, ErrAuthRedirect) {
		t.Fatalf("a dead token: %v, want ErrAuthRedirect", err)
	}
	if n := e.URS.Count("/oauth"); n != 0 {
		t.Errorf("%d requests to the sign-in page", n)
	}
}
