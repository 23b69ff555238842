package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

const cdseTOTPSecret = "JBSWY3DPEHPK3PXP"

// cdseConfig is the cdse preset pointed at the fake through the keys a user would
// override, with the password and the TOTP secret in files.
func cdseConfig(t *testing.T, c *fakestac.CDSE) string {
	pw := writeSecret(t, "cdse-password", c.Password+"\n")
	totp := writeSecret(t, "cdse-totp", cdseTOTPSecret+"\n")
	return presetConfig("cdse", c.STACURL, nil, map[string]any{
		"token_url":     c.TokenURL,
		"username":      c.Username,
		"password_file": pw,
		"totp_file":     totp,
		"hosts":         []string{c.Zipper.URL, c.Download.URL},
	})
}

// TestCDSE mounts the cdse preset (two-factor sign-in) with 2 s access and 8 s refresh
// tokens and reads the https alternates of s3://eodata hrefs through several expiries:
// byte-exact cp, a GDAL window and the Product zip (shown as <item id>.zip) (redirected to another host without the
// token); refreshes and new sign-ins as tokens lapse; never more than 4 requests in
// flight per CDSE host (the fake answers 429 beyond); the token nowhere else.
func TestCDSE(t *testing.T) {
	t.Parallel()
	requireTool(t, "gdal_translate")
	c := fakestac.NewCDSE(fakestac.CDSEOptions{AccessTTL: 2 * time.Second, RefreshTTL: 8 * time.Second, TOTPSecret: cdseTOTPSecret})
	defer c.Close()
	tok := cdseToken(t, c) // before the mount: its sign-in is not counted below
	b04 := get(t, c.Hrefs[c.Items[0]+"/B04"], tok)
	product := getNoAuthRedirect(t, c.Hrefs[c.Items[0]+"/Product"], tok)
	logins := c.Token.Granted("password")
	m := startMount(t, cdseConfig(t, c))

	var files = map[string][]byte{}
	var cog string
	for i, id := range c.Items {
		day := []string{"2024/06/12", "2024/06/15"}[i]
		when := strings.Split(id, "_")[2]
		granule := filepath.Join(m.Dir, fakestac.CDSECollection, day, id, "GRANULE", fmt.Sprintf("L2A_T31UFS_A0468%d_%s", 30+i, when), "IMG_DATA")
		files[filepath.Join(granule, "R20m", "T31UFS_"+when+"_SCL_20m.bin")] = ramp(31+i, 0, 3<<20)
		if i == 0 {
			cog = filepath.Join(granule, "R10m", "T31UFS_"+when+"_B04_10m.tif")
			files[cog] = b04
			files[filepath.Join(m.Dir, fakestac.CDSECollection, day, id, id+".zip")] = product
		}
	}
	// Cold reads from 8 threads while each zipper answer takes 300 ms: without the cap
	// more than 4 requests would be in flight and the zipper would answer 429.
	c.Zipper.SetFault(func(*http.Request) *fakestac.Fault { return &fakestac.Fault{Stall: 300 * time.Millisecond} })
	var wg sync.WaitGroup
	for f, want := range files {
		if !strings.HasSuffix(f, ".bin") {
			continue
		}
		for k := range 4 {
			wg.Go(func() {
				fh, err := os.Open(f)
				if err != nil {
					t.Error(err)
					return
				}
				defer fh.Close()
				off := int64(k) * 700_000
				p := make([]byte, 64<<10)
				if _, err := fh.ReadAt(p, off); err != nil || !bytes.Equal(p, want[off:off+int64(len(p))]) {
					t.Errorf("parallel read of %s at %d: %v", f, off, err)
				}
			})
		}
	}
	wg.Wait()
	c.Zipper.SetFault(nil)

	start := time.Now()
	refused := 0
	for round := range 3 {
		for f, want := range files {
			if got := readFresh(t, f); !bytes.Equal(got, want) {
				t.Fatalf("round %d: %s differs (%d bytes, want %d)", round, f, len(got), len(want))
			}
		}
		for f, want := range files {
			dst := filepath.Join(t.TempDir(), filepath.Base(f))
			dropPageCache(t, f)
			run(t, "cp", f, dst)
			if got, _ := os.ReadFile(dst); !bytes.Equal(got, want) {
				t.Fatalf("round %d: cp of %s gave other bytes", round, f)
			}
		}
		time.Sleep(2500 * time.Millisecond) // past the access token's life
		if round == 1 {
			// The realm forgets every session: the refresh is refused (invalid_grant) and
			// stacfs signs in again, with a new TOTP code.
			refused = c.Token.Granted("password")
			c.Token.RevokeAll()
		}
	}
	windowMatches(t, cog, files[cog])
	took := time.Since(start)

	if c.Token.Granted("refresh_token") == 0 {
		t.Error("no refresh over several access token lifetimes")
	}
	if n, limit := c.Token.Granted("password")-logins, int(took/(3*time.Second))+2; n < 2 || n > limit {
		t.Errorf("%d sign-ins in %v of 8 s refresh tokens (lapsing 5 s early), want 2 to %d", n, took.Round(time.Second), limit)
	}
	if c.Token.Granted("password") <= refused {
		t.Error("no new sign-in after the refresh was refused")
	}
	t.Logf("%d sign-ins, %d refreshes, %d zipper requests in %v", c.Token.Granted("password"),
		c.Token.Granted("refresh_token"), c.Zipper.Count("/"), took.Round(time.Second))
	for _, l := range c.Logs() {
		for _, r := range l.Requests {
			if r.Status == http.StatusTooManyRequests {
				t.Errorf("%s answered 429: more than 4 requests in flight", l.Name)
			}
		}
	}
	noBearerOutside(t, c.Logs(), "stac", "zipper", "download")
	noSecretsIn(t, m.stderr.String(), c.Password, cdseTOTPSecret)

	out := run(t, stacfsBin, "check", "--config", m.Config)
	if !strings.Contains(out, "ok   fake: token (password)") || !strings.Contains(out, "ok   fake: asset read (") {
		t.Errorf("stacfs check:\n%s", out)
	}
	noSecretsIn(t, out, c.Password, cdseTOTPSecret)
}

// cdseToken signs in to c's realm for the test itself.
func cdseToken(t *testing.T, c *fakestac.CDSE) string {
	t.Helper()
	resp, err := http.PostForm(c.TokenURL, map[string][]string{"grant_type": {"password"}, "client_id": {fakestac.CDSEClientID},
		"username": {c.Username}, "password": {c.Password}, "totp": {fakestac.TOTPCode(cdseTOTPSecret, time.Now())}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("sign-in for the test: %v (status %s)", err, resp.Status)
	}
	return tok.AccessToken
}

// getNoAuthRedirect is get for a URL that redirects to another port of 127.0.0.1:
// net/http keeps Authorization when only the port changes, so drop it here.
func getNoAuthRedirect(t *testing.T, url, token string) []byte {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		r.Header.Del("Authorization")
		return nil
	}}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return b
}

// TestCDSES3 mounts the cdse preset with S3 keys (as from the CDSE S3 key manager): the
// s3://eodata hrefs are read from the S3 endpoint (path-style, region default, SigV4 with
// the keys), not from the zipper; the bearer never goes to S3 and the S3 secret never
// leaves it. Not parallel: the keys reach the mount through its environment.
func TestCDSES3(t *testing.T) {
	c := fakestac.NewCDSE(fakestac.CDSEOptions{S3: true})
	defer c.Close()
	fakestac.SetAWSTestEnv(t, "")
	t.Setenv("CDSE_S3_ACCESS_KEY", c.S3AccessKey)
	t.Setenv("CDSE_S3_SECRET_KEY", c.S3SecretKey)
	cfg := cdseConfig(t, c) + fmt.Sprintf(`
[catalogs.fake.s3]
endpoint = %q
access_key_id_env = "CDSE_S3_ACCESS_KEY"
secret_access_key_env = "CDSE_S3_SECRET_KEY"
`, c.Store.URL)
	m := startMount(t, cfg)
	id := c.Items[1]
	when := strings.Split(id, "_")[2]
	f := filepath.Join(m.Dir, fakestac.CDSECollection, "2024/06/15", id, "GRANULE", "L2A_T31UFS_A046831_"+when, "IMG_DATA", "R20m", "T31UFS_"+when+"_SCL_20m.bin")
	want := ramp(32, 0, 3<<20)
	for round := range 2 {
		if got := readFresh(t, f); !bytes.Equal(got, want) {
			t.Fatalf("round %d: %d bytes differ", round, len(got))
		}
	}
	if st := c.Store.Stats(); st.Signed == 0 || st.Refused != 0 {
		t.Errorf("S3 fake: %+v, want signed reads and no refusal", st)
	}
	if n := c.Zipper.Count("/"); n != 0 {
		t.Errorf("%d zipper requests: the https alternate was read despite the S3 keys", n)
	}
	noBearerOutside(t, c.Logs(), "stac", "zipper", "download")
	out := m.stderr.String()
	noSecretsIn(t, out, c.Password, c.S3SecretKey)
	if strings.Contains(out, c.S3AccessKey) || strings.Contains(out, "X-Amz-Signature") {
		t.Error("the S3 key id or a signature appears in the log")
	}
	check := run(t, stacfsBin, "check", "--config", m.Config)
	if !strings.Contains(check, "ok   fake: asset read (") || !strings.Contains(check, "s3://eodata/") {
		t.Errorf("stacfs check does not read the s3:// href:\n%s", check)
	}
	noSecretsIn(t, check, c.Password, c.S3SecretKey)
}
