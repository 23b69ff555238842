package tests

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// writeSecret writes a credential file with the mode users should use.
func writeSecret(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// get fetches url directly (bypassing stacfs), with a bearer token when
// token is not empty.
func get(t *testing.T, url, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return b
}

// stacfsToken runs `stacfs token` for the mount's catalog.
func stacfsToken(t *testing.T, m *mount) string {
	t.Helper()
	return strings.TrimSpace(run(t, stacfsBin, "token", "--config", m.Config, "--catalog", "fake"))
}

// readFresh reads a file after dropping its cached pages, so stacfs serves
// it (from its block cache or the network).
func readFresh(t *testing.T, path string) []byte {
	t.Helper()
	dropPageCache(t, path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

// assetHrefs maps each asset key of a mounted item.json to its readable href.
func assetHrefs(t *testing.T, itemDir string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(itemDir, "item.json"))
	if err != nil {
		t.Fatal(err)
	}
	var it struct {
		Assets map[string]struct {
			Href      string
			Alternate map[string]struct{ Href string }
		}
	}
	if err := json.Unmarshal(raw, &it); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, a := range it.Assets {
		out[k] = a.Href
		if d, ok := a.Alternate["download"]; ok && !strings.HasPrefix(a.Href, "http") {
			out[k] = d.Href
		}
	}
	return out
}

// noBearerOutside fails when a server other than the allowed ones saw a
// bearer token.
func noBearerOutside(t *testing.T, logs []fakestac.ServerLog, allowed ...string) {
	t.Helper()
	for _, l := range logs {
		ok := false
		for _, a := range allowed {
			ok = ok || l.Name == a
		}
		for _, r := range l.WithAuthorization() {
			if !ok && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer") {
				t.Errorf("%s (%s) received a bearer token: %s %s", l.Name, l.Origin, r.Method, r.Path)
			}
		}
	}
}

// noSecretsIn fails when text holds any of the secrets or a JWT-shaped token.
func noSecretsIn(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("a secret appears in the output: %.6s...", s)
		}
	}
	if strings.Contains(text, "eyJ") {
		t.Error("an access token (eyJ...) appears in the output")
	}
}

// mountFails runs `stacfs mount` with config and expects it to fail fast,
// leaving nothing mounted; it returns stderr.
func mountFails(t *testing.T, config string) string {
	t.Helper()
	requireFUSE(t)
	tmp := t.TempDir()
	cfg := writeSecret(t, "config.toml", config)
	dir := filepath.Join(tmp, "mnt")
	os.Mkdir(dir, 0o755)
	cmd := exec.Command(stacfsBin, "mount", "--config", cfg, "--catalog", "fake", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	done := make(chan error, 1)
	cmd.Start()
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("mount with wrong credentials succeeded")
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("mount with wrong credentials did not fail within 20s")
	}
	if isMounted(dir) {
		unmountLazy(dir)
		t.Error("a mount was left behind")
	}
	t.Logf("failed in %v: %s", time.Since(start).Round(time.Millisecond), stderr.String())
	return stderr.String()
}

// esaCredentials writes the credentials file of e's client and offline session
// (the keys the ESA MAAP notebook gives) and returns its path.
func esaCredentials(t *testing.T, e *fakestac.ESAMAAP) string {
	t.Helper()
	return writeSecret(t, "credentials.txt", fmt.Sprintf("CLIENT_ID=%s\nCLIENT_SECRET=%s\nOFFLINE_TOKEN=%s\n", e.ClientID, e.ClientSecret, e.OfflineToken))
}

// esaConfig is the esa-maap preset pointed at the fake, with the credentials file creds.
func esaConfig(e *fakestac.ESAMAAP, creds string) string {
	return presetConfig("esa-maap", e.STACURL, nil, map[string]any{"token_url": e.TokenURL, "credentials_file": creds})
}

func TestESAMAAP(t *testing.T) {
	e := fakestac.NewESAMAAP(fakestac.ESAOptions{AccessTTL: 2 * time.Second})
	defer e.Close()
	creds := writeSecret(t, "credentials.txt", fmt.Sprintf("# from the ESA MAAP notebook\nCLIENT_ID=%s\nCLIENT_SECRET=%s\n\nOFFLINE_TOKEN=%s\n", e.ClientID, e.ClientSecret, e.OfflineToken))
	m := startMount(t, esaConfig(e, creds), "--catalog", "fake", "--debug")

	day := filepath.Join(m.Dir, fakestac.ESALevel1b, "2025/07/03")
	items := ls(t, day)
	if len(items) != 2 {
		t.Fatalf("ls %s = %q", day, items)
	}
	item := filepath.Join(day, strings.TrimSuffix(items[0], "/"))
	tiffs, _ := filepath.Glob(filepath.Join(item, "measurement", "*.tiff"))
	zips, _ := filepath.Glob(filepath.Join(item, "*.zip"))
	if len(tiffs) != 1 || len(zips) != 1 {
		t.Fatalf("item folder: %q", ls(t, item))
	}
	hrefs := assetHrefs(t, item)
	token := stacfsToken(t, m)
	want := get(t, hrefs["enclosure_tiff"], token)
	wantZip := get(t, hrefs["product"], token)

	// Byte-exact reads across several access-token lifetimes (2 s).
	start := e.Token.Granted("refresh_token")
	for i := range 4 {
		if got := readFresh(t, tiffs[0]); !bytes.Equal(got, want) {
			t.Fatalf("read %d: measurement differs", i)
		}
		time.Sleep(1100 * time.Millisecond)
	}
	if n := e.Token.Granted("refresh_token") - start; n < 2 {
		t.Errorf("%d token refreshes over 4 s of 2 s tokens, want at least 2", n)
	}
	dst := filepath.Join(t.TempDir(), "p.zip")
	run(t, "cp", zips[0], dst)
	if got, _ := os.ReadFile(dst); sha256.Sum256(got) != sha256.Sum256(wantZip) {
		t.Errorf("cp of the product zip (no length, no Range) is not byte-exact: %d bytes, want %d", len(got), len(wantZip))
	}
	noBearerOutside(t, e.Logs(), "stac")
	noSecretsIn(t, m.stderr.String(), e.ClientSecret, e.OfflineToken)
	if !strings.Contains(m.stderr.String(), "level=DEBUG") {
		t.Error("--debug logged nothing at debug level")
	}
	// The FUSE trace is in the log, in its format (a --log-file or
	// --log-format json gets it too), not beside it.
	if _, ok := m.logged("level=DEBUG", "rx ", "LOOKUP"); !ok {
		t.Error("--debug: no FUSE operation in the log")
	}
	for line := range strings.SplitSeq(strings.TrimSpace(m.stderr.String()), "\n") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("a line of the log is not a log record: %q", line)
			break
		}
	}
}

func TestESAMAAPRevokedTokenRecovers(t *testing.T) {
	e := fakestac.NewESAMAAP(fakestac.ESAOptions{KeepOfflineOnRevoke: true})
	defer e.Close()
	creds := esaCredentials(t, e)
	m := startMount(t, esaConfig(e, creds))
	tiffs, _ := filepath.Glob(filepath.Join(m.Dir, fakestac.ESALevel1b, "2025/08/14/*/measurement/*.tiff"))
	if len(tiffs) != 1 {
		t.Fatal("no measurement")
	}
	first := readFresh(t, tiffs[0])
	e.Token.RevokeAll() // the server forgets every access token
	before := e.Token.Granted("refresh_token")
	// A block not read yet: stacfs must fetch it with a token the server refuses.
	if got := readFresh(t, tiffs[0]); !bytes.Equal(got, first) { // from the block cache
		t.Fatal("bytes differ after revocation")
	}
	// The zip has not been read yet: its stream needs the network.
	zips, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(tiffs[0])), "*.zip"))
	if _, err := os.ReadFile(zips[0]); err != nil {
		t.Fatalf("read after revocation: %v", err)
	}
	if n := e.Token.Granted("refresh_token") - before; n != 1 {
		t.Errorf("%d refreshes after a revocation, want exactly 1", n)
	}
}

func TestESAMAAPWrongCredentials(t *testing.T) {
	e := fakestac.NewESAMAAP(fakestac.ESAOptions{})
	defer e.Close()
	cases := []struct{ name, creds, want string }{
		{"bad offline token", fmt.Sprintf("CLIENT_ID=%s\nCLIENT_SECRET=%s\nOFFLINE_TOKEN=not-a-token\n", e.ClientID, e.ClientSecret), "invalid_grant"},
		{"bad client secret", fmt.Sprintf("CLIENT_ID=%s\nCLIENT_SECRET=wrong\nOFFLINE_TOKEN=%s\n", e.ClientID, e.OfflineToken), "invalid_client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			creds := writeSecret(t, "credentials.txt", c.creds)
			out := mountFails(t, esaConfig(e, creds))
			if !strings.Contains(out, `"fake"`) || !strings.Contains(out, c.want) {
				t.Errorf("error does not name the catalog and the server's %s: %s", c.want, out)
			}
			noSecretsIn(t, out, e.ClientSecret, e.OfflineToken)
		})
	}
}

// terrascopeConfig is the terrascope preset pointed at the fake, with the password in
// $TERRASCOPE_PASSWORD.
func terrascopeConfig(ts *fakestac.Terrascope) string {
	return presetConfig("terrascope", ts.STACURL, nil, map[string]any{
		"token_url":    ts.TokenURL,
		"username":     ts.Username,
		"password_env": "TERRASCOPE_PASSWORD",
		"hosts":        []string{ts.DownloadURL},
	})
}

func TestTerrascope(t *testing.T) {
	ts := fakestac.NewTerrascope(fakestac.TerrascopeOptions{AccessTTL: 2 * time.Second, RefreshTTL: 10 * time.Second})
	defer ts.Close()
	t.Setenv("TERRASCOPE_PASSWORD", ts.Password)
	m := startMount(t, terrascopeConfig(ts), "--catalog", "fake", "--debug")

	var files []string
	for _, col := range []string{fakestac.TerrascopePublic, fakestac.TerrascopeProtected} {
		found, _ := filepath.Glob(filepath.Join(m.Dir, col, "*/*/*/*/*.tif"))
		if len(found) == 0 {
			t.Fatalf("no .tif in %s: %q", col, ls(t, filepath.Join(m.Dir, col)))
		}
		files = append(files, found...)
	}
	token := stacfsToken(t, m)
	want := map[string][]byte{}
	for _, f := range files {
		hrefs := assetHrefs(t, filepath.Dir(f))
		want[f] = get(t, hrefs[filepath.Base(f)], token)
	}
	logins := ts.Token.Granted("password")
	for round := range 3 {
		ls(t, filepath.Join(m.Dir, fakestac.TerrascopeProtected)) // the API needs the token too
		for _, f := range files {
			if got := readFresh(t, f); !bytes.Equal(got, want[f]) {
				t.Fatalf("round %d: %s differs (%d bytes, want %d)", round, f, len(got), len(want[f]))
			}
		}
		time.Sleep(2500 * time.Millisecond) // past the access token's life
	}
	// A stale token on the download host gets a redirect to the sign-in
	// page: stacfs refreshes and retries, and never hands the page out.
	ts.Token.ExpireAccessTokens()
	for _, f := range files {
		if got := readFresh(t, f); !bytes.Equal(got, want[f]) {
			t.Fatalf("after expiry: %s differs", f)
		}
	}
	if ts.Token.Granted("refresh_token") == 0 {
		t.Error("no refresh_token grant over several lifetimes")
	}
	// The server forgets every session: the rotated refresh token is refused
	// (invalid_grant) and stacfs logs in again with the password.
	ts.Token.RevokeAll()
	time.Sleep(1100 * time.Millisecond) // past the metadata TTL: stacfs asks the servers again
	for _, f := range files {
		if got := readFresh(t, f); !bytes.Equal(got, want[f]) {
			t.Fatalf("after revocation: %s differs", f)
		}
	}
	ls(t, filepath.Join(m.Dir, fakestac.TerrascopeProtected))
	if ts.Token.Granted("password") <= logins {
		t.Error("no new password login after the refresh token was refused")
	}
	noBearerOutside(t, ts.Logs(), "stac", "download")
	noSecretsIn(t, m.stderr.String(), ts.Password)
}

func TestTerrascopeWrongPassword(t *testing.T) {
	ts := fakestac.NewTerrascope(fakestac.TerrascopeOptions{})
	defer ts.Close()
	t.Setenv("TERRASCOPE_PASSWORD", "wrong-password")
	out := mountFails(t, terrascopeConfig(ts))
	if !strings.Contains(out, "Invalid user credentials") {
		t.Errorf("error lacks the server's message: %s", out)
	}
	noSecretsIn(t, out, "wrong-password")
}

func earthPlatformConfig(t *testing.T, p *fakestac.EarthPlatform, extra string) string {
	env := writeSecret(t, "EDS.env", fmt.Sprintf("EDS_CLIENT_ID=\"%s\"\nEDS_SECRET='%s'\nEDS_AUTH_URL=%s\nEDS_API_URL=\"%s\"\n", p.ClientID, p.ClientSecret, p.TokenURL, p.STACURL))
	return fmt.Sprintf(`[catalogs.fake]
preset = "earthplatform"

[catalogs.fake.auth]
env_file = %q
%s
`, env, extra)
}

func TestEarthPlatform(t *testing.T) {
	for _, form := range []bool{false, true} {
		t.Run(fmt.Sprintf("form=%v", form), func(t *testing.T) {
			p := fakestac.NewEarthPlatform(fakestac.EarthPlatformOptions{FormAuthOnly: form, AccessTTL: 3 * time.Second})
			defer p.Close()
			extra := ""
			if form {
				extra = `client_auth = "form"`
			}
			m := startMount(t, earthPlatformConfig(t, p, extra), "--catalog", "fake", "--debug")
			files, _ := filepath.Glob(filepath.Join(m.Dir, "*/*/*/*/*/*.TIF"))
			if len(files) < 3 {
				t.Fatalf("asset files: %q", files)
			}
			want := map[string][]byte{}
			for _, f := range files {
				for _, h := range assetHrefs(t, filepath.Dir(f)) {
					if strings.Contains(h, filepath.Base(f)) {
						want[f] = get(t, h, "") // presigned: no token
					}
				}
				if got := readFresh(t, f); !bytes.Equal(got, want[f]) {
					t.Fatalf("%s differs", f)
				}
			}
			// Presigned URLs expire: stacfs fetches the item again and goes on.
			p.Store.Expire()
			time.Sleep(3100 * time.Millisecond) // and the access token lapses too
			for _, f := range files {
				if got := readFresh(t, f); !bytes.Equal(got, want[f]) {
					t.Fatalf("after expiry: %s differs", f)
				}
			}
			noBearerOutside(t, p.Logs(), "stac")
			for _, l := range p.Logs() {
				if l.Name == "store" && len(l.WithAuthorization()) > 0 {
					t.Errorf("the presigned store received %d requests with Authorization", len(l.WithAuthorization()))
				}
			}
			noSecretsIn(t, m.stderr.String(), p.ClientSecret)
		})
	}
}

func TestTokenServerOutage(t *testing.T) {
	e := fakestac.NewESAMAAP(fakestac.ESAOptions{ExtraItems: 2})
	defer e.Close()
	creds := esaCredentials(t, e)
	m := startMount(t, esaConfig(e, creds))
	tiffs, _ := filepath.Glob(filepath.Join(m.Dir, fakestac.ESALevel1b, "2025/09/*/*/measurement/*.tiff"))
	if len(tiffs) != 2 {
		t.Fatalf("measurements: %q", tiffs)
	}
	// The token server goes down and the server forgets the access token.
	e.Token.SetDown(true)
	e.Token.ExpireAccessTokens()
	time.Sleep(1100 * time.Millisecond) // past the metadata TTL
	start := time.Now()
	_, err := os.ReadFile(tiffs[0])
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("read during a token server outage: %v, want EIO", err)
	}
	if took := time.Since(start); took > 40*time.Second {
		t.Errorf("EIO took %v", took)
	}
	// It comes back: the mount recovers by itself.
	e.Token.SetDown(false)
	time.Sleep(1100 * time.Millisecond)
	if _, err := os.ReadFile(tiffs[1]); err != nil {
		t.Fatalf("read after the outage: %v", err)
	}
}
