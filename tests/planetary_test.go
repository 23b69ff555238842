package tests

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// pcConfig is the Planetary Computer preset pointed at the fake through the keys a user
// would override, with a subscription key in a file.
func pcConfig(t *testing.T, pc *fakestac.PlanetaryComputer, key string) string {
	keyFile := writeSecret(t, "pc-key", key+"\n")
	return presetConfig("planetary-computer", pc.STACURL, nil, map[string]any{
		"sas_url":               pc.SASURL,
		"subscription_key_file": keyFile,
		"blob_endpoints":        []string{pc.BlobURL},
	})
}

// TestPlanetaryComputer mounts the Planetary Computer preset with 3 s SAS tokens and
// reads through several expiries: byte-exact cp and GDAL window, one token request per
// container and half lifetime (never one per read), the subscription key only on the SAS
// API, signatures only on the blob host, and unsigned hrefs in xattrs and logs.
func TestPlanetaryComputer(t *testing.T) {
	t.Parallel()
	requireTool(t, "gdal_translate", "getfattr")
	const key = "pc-subscription-key-0123"
	pc := fakestac.NewPlanetaryComputer(fakestac.PCOptions{SASTTL: 3 * time.Second, SubscriptionKey: key})
	defer pc.Close()
	cfg := pcConfig(t, pc, key)
	m := startMount(t, cfg)

	item0 := filepath.Join(m.Dir, fakestac.PCCollection, "2024/06/12", pc.Items[0])
	item1 := filepath.Join(m.Dir, fakestac.PCCollection, "2024/06/15", pc.Items[1])
	files := map[string][]byte{
		filepath.Join(item0, "ramp.bin"): ramp(7, 0, 3<<20),
		filepath.Join(item1, "ramp.bin"): ramp(8, 0, 3<<20),
	}
	// The COGs' bytes, through stacfs token --href (a signed URL a user can paste).
	for _, p := range []struct{ file, href string }{
		{filepath.Join(item0, "B04_10m.tif"), pc.Hrefs[pc.Items[0]+"/B04"]},
		{filepath.Join(item0, "TCI_10m.tif"), pc.Hrefs[pc.Items[0]+"/visual"]},
	} {
		files[p.file] = getSigned(t, m, p.href)
	}
	start := time.Now()
	for round := range 3 {
		for f, want := range files {
			if got := readFresh(t, f); !bytes.Equal(got, want) {
				t.Fatalf("round %d: %s differs (%d bytes, want %d)", round, f, len(got), len(want))
			}
		}
		dst := filepath.Join(t.TempDir(), "ramp.bin")
		run(t, "cp", filepath.Join(item1, "ramp.bin"), dst)
		if got, _ := os.ReadFile(dst); !bytes.Equal(got, files[filepath.Join(item1, "ramp.bin")]) {
			t.Fatalf("round %d: cp gave other bytes", round)
		}
		time.Sleep(2500 * time.Millisecond) // past most of a token's life
	}
	cog := filepath.Join(item0, "B04_10m.tif")
	windowMatches(t, cog, files[cog])
	took := time.Since(start)

	// One token per container and half lifetime (tokens of 2-3 s, renewed at half), plus the
	// two of stacfs token: never one per read.
	for _, c := range []string{fakestac.PCContainer, "sentinel2-vis"} {
		n := pc.TokensIssued(fakestac.PCAccount, c)
		if limit := int(took/time.Second) + 6; n == 0 || n > limit {
			t.Errorf("container %s: %d token requests in %v, want 1 to %d", c, n, took.Round(time.Second), limit)
		}
	}
	if d := pc.Denied("missing") + pc.Denied("invalid"); d != 0 {
		t.Errorf("%d blob requests without a valid token", d)
	}
	t.Logf("%d blob requests, %d SAS API requests over %v of 3 s tokens", pc.Blob.Count("/"), pc.SAS.Count("/"), took.Round(time.Second))

	// Secrets stay in scope: the key on the SAS API only, SAS queries on the blob host only.
	for _, l := range pc.Logs() {
		for _, r := range l.Requests {
			if l.Name != "sas" && r.Header.Get("Ocp-Apim-Subscription-Key") != "" {
				t.Errorf("%s received the subscription key", l.Name)
			}
			if l.Name != "blob" && strings.Contains(r.RawQuery, "sig=") {
				t.Errorf("%s received a SAS query: %s", l.Name, r.Path)
			}
			if r.Header.Get("Authorization") != "" {
				t.Errorf("%s received an Authorization header", l.Name)
			}
		}
	}
	// The href xattr stays unsigned; no token and no key in the log.
	buf := make([]byte, 4096)
	n, err := syscall.Getxattr(filepath.Join(item0, "B04_10m.tif"), "user.stac.href", buf)
	if err != nil {
		t.Fatal(err)
	}
	if href := string(buf[:n]); href != pc.Hrefs[pc.Items[0]+"/B04"] {
		t.Errorf("user.stac.href = %q, want the unsigned href", href)
	}
	log := m.stderr.String()
	noSecretsIn(t, log, append(pc.IssuedTokens(), key)...)
	if strings.Contains(log, "sig=") {
		t.Error("a SAS signature appears in the log")
	}

	// stacfs check signs in and reads an asset.
	out := run(t, stacfsBin, "check", "--config", m.Config)
	if !strings.Contains(out, "ok   fake: asset read (") {
		t.Errorf("stacfs check does not report the asset read:\n%s", out)
	}
	noSecretsIn(t, out, append(pc.IssuedTokens(), key)...)
}

// getSigned reads href through the URL `stacfs token --href` prints. The fixture's tokens
// live 2-3 s, and on a loaded machine the stacfs process may take that long to exit before
// the test reads: a URL refused once its signed expiry (se) has passed is asked again; any
// other refusal fails.
func getSigned(t *testing.T, m *mount, href string) []byte {
	t.Helper()
	for try := 1; ; try++ {
		signed := strings.TrimSpace(run(t, stacfsBin, "token", "--config", m.Config, "--catalog", "fake", "--href", href))
		u, err := url.Parse(signed)
		if err != nil || !strings.HasPrefix(signed, href+"?") || u.Query().Get("sig") == "" {
			t.Fatalf("stacfs token --href: %q is not the href with a SAS query", signed)
		}
		resp, err := http.Get(signed)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return b
		}
		se, perr := time.Parse(time.RFC3339, u.Query().Get("se"))
		if resp.StatusCode != http.StatusForbidden || perr != nil || time.Now().Before(se) || try == 3 {
			t.Fatalf("GET of the signed href (try %d, expiry %s): %s: %s", try, u.Query().Get("se"), resp.Status, b)
		}
		t.Logf("the signed href expired (%s) before it was read; asking again", u.Query().Get("se"))
	}
}

// TestPlanetaryComputerWrongKey: a subscription key the SAS API refuses fails the read
// with EACCES and the server's message, and stacfs check says so.
func TestPlanetaryComputerWrongKey(t *testing.T) {
	t.Parallel()
	pc := fakestac.NewPlanetaryComputer(fakestac.PCOptions{SubscriptionKey: "the-right-key"})
	defer pc.Close()
	cfg := pcConfig(t, pc, "a-wrong-key-5678")
	m := startMount(t, cfg)
	f := filepath.Join(m.Dir, fakestac.PCCollection, "2024/06/12", pc.Items[0], "ramp.bin")
	_, err := os.ReadFile(f)
	if !errors.Is(err, syscall.EACCES) {
		t.Fatalf("read with a wrong subscription key: %v, want EACCES", err)
	}
	out, _ := runMayFail(t, stacfsBin, "check", "--config", m.Config)
	if !strings.Contains(out, "FAIL fake: asset read") || !strings.Contains(out, "invalid subscription key") {
		t.Errorf("stacfs check does not report the refused key:\n%s", out)
	}
	noSecretsIn(t, out+m.stderr.String(), "a-wrong-key-5678")
}
