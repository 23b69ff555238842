package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// seen is one request an origin server received.
type seen struct {
	origin, path, rawQuery string
	method, auth, rng      string
	body                   string
}

// world is a set of origins on httptest servers: three TLS servers (a, b, c) and one
// plain http server (h). Any name under example.com dials 127.0.0.1, so one server can
// play several hosts (the TLS test certificate covers *.example.com); handlers see the
// origin they were addressed as.
type world struct {
	t          *testing.T
	a, b, c, h *httptest.Server
	hc         *http.Client
	idp        *fakeIdP
	route      func(w http.ResponseWriter, r *http.Request, origin string)

	mu   sync.Mutex
	reqs []seen
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, idp: newIdP(t)}
	handler := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		origin := scheme + "://" + strings.ToLower(r.Host)
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.reqs = append(w.reqs, seen{origin: origin, path: r.URL.Path, rawQuery: r.URL.RawQuery, method: r.Method,
			auth: r.Header.Get("Authorization"), rng: r.Header.Get("Range"), body: string(body)})
		w.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		w.route(rw, r, origin)
	})
	w.a = httptest.NewTLSServer(handler)
	w.b = httptest.NewTLSServer(handler)
	w.c = httptest.NewTLSServer(handler)
	w.h = httptest.NewServer(handler)
	t.Cleanup(func() { w.a.Close(); w.b.Close(); w.c.Close(); w.h.Close() })
	tr := w.a.Client().Transport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}
	w.hc = &http.Client{Transport: tr}
	return w
}

// url returns scheme://name:port of server s with path.
func (w *world) url(s *httptest.Server, name, path string) string {
	u, _ := url.Parse(s.URL)
	return u.Scheme + "://" + name + ":" + u.Port() + path
}

// client returns a Client for a catalog at catalog with hosts in scope and the given
// grant (Type "" -> password against the fake IdP).
func (w *world) client(catalog string, hosts []string, cfg AuthConfig) *Client {
	w.t.Helper()
	if cfg.Type == "" {
		cfg = AuthConfig{Type: "password", ClientID: "stacfs", Username: "alice", Password: testPassword}
	}
	if cfg.Type != AuthBearer && cfg.Type != AuthNone {
		cfg.TokenURL = w.idp.start()
	}
	tok, err := NewTokens(cfg, w.hc)
	if err != nil {
		w.t.Fatal(err)
	}
	sc, err := NewScope(catalog, hosts)
	if err != nil {
		w.t.Fatal(err)
	}
	return &Client{HTTP: w.hc, Auth: &Auth{Tokens: tok, Scope: sc}}
}

func (w *world) requests() []seen {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]seen(nil), w.reqs...)
}

func (w *world) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reqs = nil
}

// authorized reports whether r carries a live token of the fake IdP.
func (w *world) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && w.idp.valid(tok)
}

// TestReplayOn401: a 401 to a request that carried the token invalidates it, fetches one
// new token and replays the request (with its body) once.
func TestReplayOn401(t *testing.T) {
	w := newWorld(t)
	w.route = func(rw http.ResponseWriter, r *http.Request, origin string) {
		if !w.authorized(r) {
			http.Error(rw, "no", http.StatusUnauthorized)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(rw, `{"id":"x","method":%q,"links":[]}`, r.Method)
	}
	catalog := w.url(w.a, "api.example.com", "/stac/")
	c := w.client(catalog, nil, AuthConfig{})
	ctx := context.Background()
	tests := []struct {
		name string
		req  stacRequest
	}{
		{"GET", stacRequest{method: http.MethodGet, url: catalog}},
		{"POST", stacRequest{method: http.MethodPost, url: catalog + "search", body: []byte(`{"limit":5}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := c.stac(ctx, tt.req); err != nil {
				t.Fatal(err)
			}
			before := c.Auth.Tokens.Refreshes()
			tok := mustToken(t, c.Auth.Tokens)
			w.idp.revokeAccess(tok)
			w.reset()
			if _, _, err := c.stac(ctx, tt.req); err != nil {
				t.Fatal(err)
			}
			if got := c.Auth.Tokens.Refreshes() - before; got != 1 {
				t.Errorf("%d refreshes, want 1", got)
			}
			reqs := w.requests()
			if len(reqs) != 2 || reqs[0].auth != "Bearer "+tok || reqs[1].auth == reqs[0].auth || reqs[1].auth == "" {
				t.Fatalf("requests %+v, want the refused one and one replay with a new token", reqs)
			}
			if reqs[1].method != tt.req.method || reqs[1].body != string(tt.req.body) {
				t.Errorf("replay %s %q, want %s %q", reqs[1].method, reqs[1].body, tt.req.method, tt.req.body)
			}
		})
	}

	// Many requests refused with the same token at once: still one refresh.
	t.Run("concurrent", func(t *testing.T) {
		before := c.Auth.Tokens.Refreshes()
		w.idp.revokeAccess(mustToken(t, c.Auth.Tokens))
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, _, err := c.stac(ctx, stacRequest{method: http.MethodGet, url: catalog}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := c.Auth.Tokens.Refreshes() - before; got != 1 {
			t.Errorf("%d refreshes, want 1", got)
		}
	})

	// Still refused after the replay: the 401 is returned, with one refresh only.
	w.route = func(rw http.ResponseWriter, r *http.Request, origin string) {
		http.Error(rw, "no", http.StatusUnauthorized)
	}
	before := c.Auth.Tokens.Refreshes()
	w.reset()
	_, _, err := c.stac(ctx, stacRequest{method: http.MethodGet, url: catalog})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 401 || !errors.Is(err, ErrDenied) {
		t.Fatalf("error %v, want a 401 StatusError", err)
	}
	if got := c.Auth.Tokens.Refreshes() - before; got != 1 || len(w.requests()) != 2 {
		t.Errorf("%d refreshes and %d requests, want 1 and 2", got, len(w.requests()))
	}
}

// TestDeniedWithoutToken: a 401/403 to a request that carried no token is a StatusError
// and fetches nothing.
func TestDeniedWithoutToken(t *testing.T) {
	w := newWorld(t)
	w.route = func(rw http.ResponseWriter, r *http.Request, origin string) {
		code := http.StatusUnauthorized
		if strings.HasSuffix(r.URL.Path, "403") {
			code = http.StatusForbidden
		}
		http.Error(rw, "denied", code)
	}
	c := w.client(w.url(w.a, "api.example.com", "/"), nil, AuthConfig{})
	for _, u := range []string{
		w.url(w.c, "api.example.com", "/x401"),                                      // other port
		w.url(w.a, "api.example.com", "/x403?X-Amz-Signature=s&X-Amz-Credential=c"), // presigned
	} {
		p := make([]byte, 8)
		_, err := c.ReadAt(context.Background(), u, p, 0, "")
		var se *StatusError
		if !errors.As(err, &se) || !errors.Is(err, ErrDenied) {
			t.Errorf("%s: error %v, want a StatusError matching ErrDenied", RedactURL(u), err)
		}
	}
	if n := c.Auth.Tokens.Refreshes(); n != 0 {
		t.Errorf("%d token fetches for requests without token", n)
	}
	for _, r := range w.requests() {
		if r.auth != "" {
			t.Errorf("%s%s got Authorization", r.origin, r.path)
		}
	}
}

// TestStaticBearerNoReplay: a refused static token is not replayed.
func TestStaticBearerNoReplay(t *testing.T) {
	w := newWorld(t)
	w.route = func(rw http.ResponseWriter, r *http.Request, origin string) {
		http.Error(rw, "expired", http.StatusUnauthorized)
	}
	catalog := w.url(w.a, "api.example.com", "/")
	c := w.client(catalog, nil, AuthConfig{Type: "bearer", Token: "static-SECRET"})
	_, err := c.Stat(context.Background(), catalog+"obj")
	if !errors.Is(err, ErrDenied) || strings.Contains(err.Error(), "static-SECRET") {
		t.Fatalf("error %v", err)
	}
	reqs := w.requests()
	if len(reqs) != 1 || reqs[0].auth != "Bearer static-SECRET" {
		t.Errorf("requests %+v, want one with the static token", reqs)
	}
}

// TestTokenErrorSurfaces: a refused token request is returned by the read as a
// *TokenError, and the data server is not asked.
func TestTokenErrorSurfaces(t *testing.T) {
	w := newWorld(t)
	w.route = func(rw http.ResponseWriter, r *http.Request, origin string) { t.Error("data server asked") }
	catalog := w.url(w.a, "api.example.com", "/")
	c := w.client(catalog, nil, AuthConfig{Type: "password", ClientID: "stacfs", Username: "alice", Password: "wrong-SECRET"})
	_, err := c.ReadAt(context.Background(), catalog+"obj", make([]byte, 4), 0, "")
	var te *TokenError
	if !errors.As(err, &te) || te.Code != "invalid_grant" || !errors.Is(err, ErrDenied) {
		t.Fatalf("error %v, want a TokenError invalid_grant", err)
	}
	if strings.Contains(err.Error(), "wrong-SECRET") {
		t.Errorf("error shows the password: %v", err)
	}
}

// TestSignInRedirect: a data server that redirects to a sign-in page on another origin
// when the token is refused (Terrascope) gives ErrAuthRedirect; with a token, the client
// refreshes once and replays; the sign-in page is never requested.
func TestSignInRedirect(t *testing.T) {
	w := newWorld(t)
	login := w.url(w.c, "sso.example.com", "/auth/realms/t/protocol/openid-connect/auth")
	data := []byte("0123456789abcdef")
	w.route = func(rw http.ResponseWriter, r *http.Request, origin string) {
		switch {
		case strings.HasPrefix(origin, "https://sso.example.com"):
			t.Errorf("sign-in page requested: %s", r.URL.Path)
			fmt.Fprint(rw, "<html>login</html>")
		case r.URL.Path == "/always" || !w.authorized(r):
			http.Redirect(rw, r, login+"?client_id=public&response_type=code&redirect_uri="+url.QueryEscape(r.URL.String()), http.StatusFound)
		default:
			http.ServeContent(rw, r, "x", time.Time{}, bytes.NewReader(data))
		}
	}
	catalog := w.url(w.a, "api.example.com", "/")
	c := w.client(catalog, []string{"data.example.com:" + portOf(w.b)}, AuthConfig{})
	obj := w.url(w.b, "data.example.com", "/download/obj")
	ctx := context.Background()
	p := make([]byte, 4)
	if _, err := c.ReadAt(ctx, obj, p, 2, ""); err != nil {
		t.Fatal(err)
	}
	tok := mustToken(t, c.Auth.Tokens)
	w.idp.revokeAccess(tok)
	before := c.Auth.Tokens.Refreshes()
	if n, err := c.ReadAt(ctx, obj, p, 4, ""); err != nil || string(p[:n]) != "4567" {
		t.Fatalf("ReadAt after refused token: %q, %v", p[:n], err)
	}
	if got := c.Auth.Tokens.Refreshes() - before; got != 1 {
		t.Errorf("%d refreshes, want 1", got)
	}

	// Redirected again after the replay: ErrAuthRedirect, no HTML.
	before = c.Auth.Tokens.Refreshes()
	_, err := c.ReadAt(ctx, w.url(w.b, "data.example.com", "/always"), p, 0, "")
	if !errors.Is(err, ErrAuthRedirect) || !errors.Is(err, ErrDenied) {
		t.Fatalf("error %v, want ErrAuthRedirect matching ErrDenied", err)
	}
	if strings.Contains(err.Error(), "html") || strings.Contains(err.Error(), "redirect_uri") || strings.Contains(err.Error(), "at-") {
		t.Errorf("error shows page, query or token: %v", err)
	}
	if got := c.Auth.Tokens.Refreshes() - before; got != 1 {
		t.Errorf("%d refreshes, want 1", got)
	}

	// Anonymous: same answer, no token anywhere.
	anon := &Client{HTTP: w.hc}
	if _, err := anon.ReadAt(ctx, obj, p, 0, ""); !errors.Is(err, ErrAuthRedirect) {
		t.Errorf("anonymous: error %v, want ErrAuthRedirect", err)
	}
	if _, _, err := anon.Open(ctx, obj); !errors.Is(err, ErrAuthRedirect) {
		t.Errorf("anonymous Open: error %v, want ErrAuthRedirect", err)
	}
}

// TestRedirectSemantics checks how each hop is re-sent and whether it carries the token.
func TestRedirectSemantics(t *testing.T) {
	w := newWorld(t)
	// /r/<code>/<escaped next URL> redirects; anything else answers 200 "ok".
	w.route = func(rw http.ResponseWriter, r *http.Request, origin string) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/r/"); ok {
			code, next, _ := strings.Cut(rest, "/")
			n, _ := strconv.Atoi(code)
			target, _ := url.PathUnescape(next)
			rw.Header().Set("Location", target)
			rw.WriteHeader(n)
			return
		}
		fmt.Fprint(rw, "ok")
	}
	api := func(p string) string { return w.url(w.a, "api.example.com", p) }
	redir := func(from string, code int, to string) string {
		u, _ := url.Parse(from)
		return u.Scheme + "://" + u.Host + "/r/" + strconv.Itoa(code) + "/" + url.PathEscape(to)
	}
	httpCatalog := w.url(w.h, "api.example.com", "/")
	dataHost := "https://data.example.com:" + portOf(w.b)
	tests := []struct {
		name      string
		catalog   string
		hosts     []string
		method    string
		body      string
		url       string
		hops      []string // "METHOD origin path auth?" per request, auth is "T" or "-"
		wantErr   error
		noHeaders bool
	}{
		{
			name: "307 keeps method and body, token stays in scope", catalog: api("/"), method: "POST", body: "{}",
			url:  redir(api("/a"), 307, api("/b")),
			hops: []string{"POST /r T", "POST /b T"},
		},
		{
			name: "303 turns POST into GET", catalog: api("/"), method: "POST", body: "{}",
			url:  redir(api("/a"), 303, api("/b")),
			hops: []string{"POST /r T", "GET /b T"},
		},
		{
			name: "302 keeps GET and Range", catalog: api("/"), method: "GET",
			url:   redir(api("/a"), 302, dataHost+"/b"),
			hosts: []string{dataHost},
			hops:  []string{"GET /r T", "GET /b T"},
		},
		{
			name: "to presigned on the same origin: no token", catalog: api("/"), method: "GET",
			url:  redir(api("/a"), 307, api("/b?X-Amz-Signature=s&X-Amz-Credential=c")),
			hops: []string{"GET /r T", "GET /b -"},
		},
		{
			name: "to another port: no token", catalog: api("/"), method: "GET",
			url:  redir(api("/a"), 308, w.url(w.c, "api.example.com", "/b")),
			hops: []string{"GET /r T", "GET /b -"},
		},
		{
			name: "to http on the same host: no token", catalog: api("/"), method: "GET",
			url:  redir(api("/a"), 301, w.url(w.h, "api.example.com", "/b")),
			hops: []string{"GET /r T", "GET /b -"},
		},
		{
			name: "http catalog: https hop then back to http: no token after the downgrade", catalog: httpCatalog,
			hosts: []string{dataHost}, method: "GET",
			url:  redir(httpCatalog+"a", 302, redir(dataHost+"/b", 302, httpCatalog+"c")),
			hops: []string{"GET /r T", "GET /r T", "GET /c -"},
		},
		{
			name: "back into scope after leaving it", catalog: api("/"), method: "GET",
			url:  redir(api("/a"), 302, redir(w.url(w.c, "evil.example.com", "/b"), 302, api("/c"))),
			hops: []string{"GET /r T", "GET /r -", "GET /c T"},
		},
		{
			name: "too many redirects", catalog: api("/"), method: "GET",
			url:     loop(redir, api("/x"), 11),
			wantErr: ErrBadResponse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := w.client(tt.catalog, tt.hosts, AuthConfig{Type: "bearer", Token: "tok"})
			w.reset()
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(context.Background(), tt.method, tt.url, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Range", "bytes=0-1")
			resp, err := c.do(req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ok" {
				t.Errorf("final body %q", b)
			}
			var got []string
			for _, r := range w.requests() {
				a := "-"
				if r.auth == "Bearer tok" {
					a = "T"
				}
				p := r.path
				if strings.HasPrefix(p, "/r/") {
					p = "/r"
				}
				got = append(got, r.method+" "+p+" "+a)
				if r.rng != "bytes=0-1" {
					t.Errorf("%s %s: Range %q", r.method, r.path, r.rng)
				}
				if r.method == "POST" && r.body != tt.body {
					t.Errorf("%s: body %q", r.path, r.body)
				}
			}
			if strings.Join(got, ", ") != strings.Join(tt.hops, ", ") {
				t.Errorf("hops %v\nwant %v", got, tt.hops)
			}
		})
	}
}

// loop builds a chain of n redirects on one origin, ending at final.
func loop(redir func(string, int, string) string, final string, n int) string {
	u := final
	for range n {
		u = redir(final, 302, u)
	}
	return u
}

func portOf(s *httptest.Server) string {
	u, _ := url.Parse(s.URL)
	return u.Port()
}

// TestRandomRedirectChains follows 1000 random redirect chains between origins in and
// out of scope and checks that the token reached exactly the in-scope, unsigned, https
// hops, and never any other origin.
func TestRandomRedirectChains(t *testing.T) {
	w := newWorld(t)
	type hop struct {
		base      string // scheme://host:port
		presigned bool
		code      int // redirect status to the next hop (unused on the last)
	}
	origins := []struct {
		base    string
		inScope bool
	}{
		{w.url(w.a, "api.example.com", ""), true},    // the catalog
		{w.url(w.b, "data.example.com", ""), true},   // listed host
		{w.url(w.c, "api.example.com", ""), false},   // catalog host, other port
		{w.url(w.b, "other.example.com", ""), false}, // listed port, other host
		{w.url(w.a, "API.Example.COM", ""), true},    // the catalog, other case
		{w.url(w.h, "api.example.com", ""), false},   // http
		{w.url(w.h, "data.example.com", ""), false},  // http on a listed host
	}
	inScope := map[string]bool{}
	for _, o := range origins {
		u, _ := url.Parse(o.base)
		inScope[strings.ToLower(u.Scheme+"://"+u.Host)] = o.inScope
	}
	codes := []int{301, 302, 303, 307, 308}
	var mu sync.Mutex
	chains := map[int][]hop{}
	hopURL := func(id, i int) string {
		mu.Lock()
		h := chains[id][i]
		mu.Unlock()
		u := fmt.Sprintf("%s/c/%d/%d", h.base, id, i)
		if h.presigned {
			u += "?X-Amz-Credential=k&X-Amz-Signature=s"
		}
		return u
	}
	w.route = func(rw http.ResponseWriter, r *http.Request, origin string) {
		var id, i int
		if _, err := fmt.Sscanf(r.URL.Path, "/c/%d/%d", &id, &i); err != nil {
			t.Errorf("path %s", r.URL.Path)
			return
		}
		mu.Lock()
		chain := chains[id]
		mu.Unlock()
		if i+1 < len(chain) {
			rw.Header().Set("Location", hopURL(id, i+1))
			rw.WriteHeader(chain[i].code)
			return
		}
		fmt.Fprintf(rw, "end %d", id)
	}
	c := w.client(origins[0].base+"/stac/", []string{"data.example.com:" + portOf(w.b)}, AuthConfig{})
	rng := rand.New(rand.NewPCG(1, 2))
	for id := range 1000 {
		chain := make([]hop, 1+rng.IntN(12))
		for i := range chain {
			o := origins[rng.IntN(len(origins))]
			chain[i] = hop{base: o.base, presigned: rng.IntN(5) == 0, code: codes[rng.IntN(len(codes))]}
		}
		mu.Lock()
		chains[id] = chain
		mu.Unlock()
		method := []string{"GET", "HEAD", "POST"}[rng.IntN(3)]
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader(`{"q":1}`)
		}
		w.reset()
		req, err := http.NewRequestWithContext(context.Background(), method, hopURL(id, 0), body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.do(req)
		if len(chain) > maxRedirects+1 {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("chain %d of %d hops: error %v, want too many redirects", id, len(chain), err)
			}
		} else {
			if err != nil {
				t.Fatalf("chain %d: %v", id, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if method != "HEAD" && !strings.HasSuffix(string(b), "end "+strconv.Itoa(id)) && resp.Request.Method != "HEAD" {
				t.Fatalf("chain %d: final body %q", id, b)
			}
		}
		// Expected method and token on each hop.
		reqs := w.requests()
		if want := min(len(chain), maxRedirects+1); len(reqs) != want {
			t.Fatalf("chain %d: %d requests, want %d", id, len(reqs), want)
		}
		want := method
		sawHTTPS := false
		for i, r := range reqs {
			h := chain[i]
			if i > 0 && (chain[i-1].code <= 303) && want != "GET" && want != "HEAD" {
				want = "GET"
			}
			if r.method != want {
				t.Fatalf("chain %d hop %d: method %s, want %s", id, i, r.method, want)
			}
			if r.method == "POST" && r.body != `{"q":1}` {
				t.Fatalf("chain %d hop %d: body %q", id, i, r.body)
			}
			https := strings.HasPrefix(r.origin, "https://")
			should := inScope[r.origin] && https && !h.presigned && !(sawHTTPS && !https)
			if https {
				sawHTTPS = true
			}
			if !inScope[r.origin] && r.auth != "" {
				t.Fatalf("chain %d hop %d: out-of-scope %s got Authorization", id, i, r.origin)
			}
			if (r.auth != "") != should {
				t.Fatalf("chain %d hop %d (%s presigned=%v): Authorization %q, want token %v", id, i, r.origin, h.presigned, r.auth, should)
			}
		}
	}
}
