package tests

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// earthdataConfig is the earthdata preset pointed at the fake through the keys a user
// would override, with the credentials in a .netrc; collections, when given, are the
// only ones mounted.
func earthdataConfig(t *testing.T, e *fakestac.Earthdata, password string, collections ...string) string {
	netrc := writeSecret(t, "netrc", fmt.Sprintf("machine 127.0.0.1\n  login %s\n  password %s\n", e.Username, password))
	var catalog map[string]any
	if len(collections) > 0 {
		catalog = map[string]any{"collections": collections}
	}
	return presetConfig("earthdata", e.STACURL, catalog, map[string]any{
		"token_url": e.TokenURL,
		"netrc":     netrc,
		"hosts":     []string{e.TEAURL, e.URS.URL},
	})
}

// TestEarthdata mounts the earthdata preset with 3 s EDL tokens and 3 s presigned URLs and
// reads through several expiries of both: byte-exact cp and GDAL window, one redirect per
// file and URL lifetime (not one per range), one token per token lifetime, the bearer on
// the download host and never on the presigned S3 URL, nothing followed to the sign-in
// page, no secret in the log.
func TestEarthdata(t *testing.T) {
	t.Parallel()
	requireTool(t, "gdal_translate")
	e := fakestac.NewEarthdata(fakestac.EarthdataOptions{TokenTTL: 3 * time.Second, PresignTTL: 3 * time.Second})
	defer e.Close()
	m := startMount(t, earthdataConfig(t, e, e.Password))

	dir := func(i int) string {
		return filepath.Join(m.Dir, fakestac.EarthdataCollection, fmt.Sprintf("2024/06/%d", 12+3*i), e.Items[i])
	}
	cog := filepath.Join(dir(0), e.Items[0]+".B04.tif")
	files := map[string][]byte{
		filepath.Join(dir(0), e.Items[0]+".ramp.bin"): ramp(21, 0, 3<<20),
		filepath.Join(dir(1), e.Items[1]+".ramp.bin"): ramp(22, 0, 3<<20),
		cog: get(t, e.S3.Sign(strings.TrimPrefix(e.Hrefs[e.Items[0]+"/B04"], e.TEAURL), 0), ""),
	}
	start := time.Now()
	for round := range 3 {
		for f, want := range files {
			if got := readFresh(t, f); !bytes.Equal(got, want) {
				t.Fatalf("round %d: %s differs (%d bytes, want %d)", round, f, len(got), len(want))
			}
		}
		dst := filepath.Join(t.TempDir(), "ramp.bin")
		src := filepath.Join(dir(1), e.Items[1]+".ramp.bin")
		run(t, "cp", src, dst)
		if got, _ := os.ReadFile(dst); !bytes.Equal(got, files[src]) {
			t.Fatalf("round %d: cp gave other bytes", round)
		}
		time.Sleep(2500 * time.Millisecond)
	}
	windowMatches(t, cog, files[cog])
	took := time.Since(start)

	// One redirect per file and URL lifetime (max-age 2 s), one token per 3 s lifetime.
	lives := int(took/(2*time.Second)) + 2
	if n := e.TEA.Count("/"); n > len(files)*lives {
		t.Errorf("%d requests to the download host in %v for %d files, want at most %d", n, took.Round(time.Second), len(files), len(files)*lives)
	}
	if n, limit := e.TokensCreated(), int(took/(3*time.Second))+2; n == 0 || n > limit {
		t.Errorf("%d EDL tokens in %v of 3 s tokens, want 1 to %d", n, took.Round(time.Second), limit)
	}
	t.Logf("%d download-host requests, %d presigned reads, %d tokens in %v", e.TEA.Count("/"), e.S3.Server.Count("/"),
		e.TokensCreated(), took.Round(time.Second))
	if n := e.URS.Count("/oauth"); n != 0 {
		t.Errorf("%d requests followed a redirect to the sign-in page", n)
	}
	for _, r := range e.S3.Requests() {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the presigned URL got an Authorization header: %s", r.Path)
		}
	}
	noBearerOutside(t, e.Logs(), "stac", "tea")
	noSecretsIn(t, m.stderr.String(), append(e.Tokens(), e.Password)...)

	// stacfs token prints the EDL token; stacfs check reads an asset.
	if tok := stacfsToken(t, m); !strings.HasPrefix(tok, "EDL-") {
		t.Errorf("stacfs token printed %q, want the EDL token", tok)
	}
	out := run(t, stacfsBin, "check", "--config", m.Config)
	if !strings.Contains(out, "ok   fake: token (edl)") || !strings.Contains(out, "ok   fake: asset read (") {
		t.Errorf("stacfs check:\n%s", out)
	}
}

// TestEarthdataEULA: a collection whose EULA the user has not accepted gives EACCES, an
// ERROR log naming the page to visit, and stacfs check prints it; once accepted, it reads.
func TestEarthdataEULA(t *testing.T) {
	t.Parallel()
	e := fakestac.NewEarthdata(fakestac.EarthdataOptions{})
	defer e.Close()
	m := startMount(t, earthdataConfig(t, e, e.Password, fakestac.EarthdataEULA))
	f := filepath.Join(m.Dir, fakestac.EarthdataEULA, "2024/06/20/EULA_ITEM_1/EULA_ITEM_1.bin")
	if _, err := os.ReadFile(f); !errors.Is(err, syscall.EACCES) {
		t.Fatalf("read before accepting the EULA: %v, want EACCES", err)
	}
	if log, ok := m.logged("level=ERROR", e.ResolutionURL()); !ok {
		t.Errorf("no ERROR log naming %s:\n%s", e.ResolutionURL(), log)
	}
	out, _ := runMayFail(t, stacfsBin, "check", "--config", m.Config)
	if !strings.Contains(out, "FAIL fake: asset read") || !strings.Contains(out, e.ResolutionURL()) {
		t.Errorf("stacfs check does not name the EULA page:\n%s", out)
	}
	e.AcceptEULA()
	time.Sleep(1100 * time.Millisecond) // past the metadata TTL
	if got := readFresh(t, f); !bytes.Equal(got, ramp(5, 0, 64<<10)) {
		t.Errorf("after accepting the EULA: %d bytes differ", len(got))
	}
}

// TestEarthdataWrongPassword: a wrong password fails the mount at start with Earthdata
// Login's own message, and nothing of the password in the output.
func TestEarthdataWrongPassword(t *testing.T) {
	t.Parallel()
	e := fakestac.NewEarthdata(fakestac.EarthdataOptions{})
	defer e.Close()
	out := mountFails(t, earthdataConfig(t, e, "not-the-password-99"))
	if !strings.Contains(out, "invalid_credentials") {
		t.Errorf("mount output lacks the server's message:\n%s", out)
	}
	noSecretsIn(t, out, "not-the-password-99")
}
