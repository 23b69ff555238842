package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stacfs/stacfs/remote"
)

// TestProviderPresetsMatchFacts checks every endpoint, host and client of the cloud
// providers' presets against the provider facts (testdata/providers-facts.md, copied
// from the facts file with its sources): a preset never invents a host.
func TestProviderPresetsMatchFacts(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "providers-facts.md"))
	if err != nil {
		t.Fatal(err)
	}
	facts := string(b)
	for name, p := range providerPresets {
		values := append([]string{p.url, p.tokenURL, p.sasURL, p.clientID, p.s3Endpoint}, p.hosts...)
		for _, v := range values {
			if v == "" {
				continue
			}
			if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "*.") && strings.Contains(v, ".") &&
				!strings.Contains(v, "/") {
				v = "https://" + v // a bare host: the facts name it with https
			}
			probe := strings.TrimPrefix(v, "*.")
			if !strings.Contains(facts, probe) {
				t.Errorf("preset %s: %q is not in the provider facts", name, v)
			}
			if strings.Contains(v, "://") && !strings.HasPrefix(v, "https://") {
				t.Errorf("preset %s: %q is not https", name, v)
			}
		}
	}
	if r := providerPresets[presetCDSE].s3Region; !strings.Contains(facts, "region\n  `"+r+"`") && !strings.Contains(facts, "region `"+r+"`") {
		t.Errorf("cdse preset: S3 region %q is not in the facts", r)
	}
	if got := providerPresets[presetCDSE].maxPerOrigin; got != 4 || !strings.Contains(facts, "4 concurrent connections per user") {
		t.Errorf("cdse preset caps connections per host at %d, facts say 4", got)
	}
}

func TestProviderPresetConfig(t *testing.T) {
	dir := t.TempDir()
	netrc := filepath.Join(dir, "netrc")
	if err := os.WriteFile(netrc, []byte("machine other.example login x password y\nmachine urs.earthdata.nasa.gov\n  login edl-user\n  password edl-pass-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty-netrc")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NETRC", empty)
	t.Setenv("HOME", dir)
	t.Setenv("EARTHDATA_TOKEN", "")
	t.Setenv("EARTHDATA_USERNAME", "")
	t.Setenv("EARTHDATA_PASSWORD", "")
	t.Setenv("PC_SDK_SUBSCRIPTION_KEY", "")
	t.Setenv("CDSE_PW", "cdse-secret")
	t.Setenv("EDL_TOKEN_X", "edl-token-abc")

	t.Run("planetary-computer", func(t *testing.T) {
		cfg, err := ParseConfig("c.toml", "[catalogs.pc]\npreset = \"planetary-computer\"\n")
		if err != nil {
			t.Fatal(err)
		}
		cc := cfg.Catalogs["pc"]
		if cc.URL != "https://planetarycomputer.microsoft.com/api/stac/v1" || cc.prov.sasURL != "https://planetarycomputer.microsoft.com/api/sas/v1" {
			t.Errorf("url %q, sas_url %q", cc.URL, cc.prov.sasURL)
		}
		if cc.auth.cfg.Type != "none" || cc.prov.subscriptionKey != "" {
			t.Errorf("auth %q, key %q: want none and no key", cc.auth.cfg.Type, cc.prov.subscriptionKey)
		}
		t.Setenv("PC_SDK_SUBSCRIPTION_KEY", "sdk-key")
		cfg, err = ParseConfig("c.toml", "[catalogs.pc]\npreset = \"planetary-computer\"\nurl = \"http://127.0.0.1:1/stac\"\n[catalogs.pc.auth]\nsas_url = \"http://127.0.0.1:2/sas\"\nblob_endpoints = [\"http://127.0.0.1:3\"]\n")
		if err != nil {
			t.Fatal(err)
		}
		cc = cfg.Catalogs["pc"]
		if cc.URL != "http://127.0.0.1:1/stac" || cc.prov.sasURL != "http://127.0.0.1:2/sas" || cc.prov.subscriptionKey != "sdk-key" ||
			!slices.Equal(cc.prov.blobEndpoints, []string{"http://127.0.0.1:3"}) {
			t.Errorf("overrides not taken: %+v", cc.prov)
		}
	})

	t.Run("earthdata netrc", func(t *testing.T) {
		cfg, err := ParseConfig("c.toml", "[catalogs.lp]\npreset = \"earthdata\"\nurl = \"https://cmr.earthdata.nasa.gov/stac/LPCLOUD\"\n[catalogs.lp.auth]\nnetrc = \""+netrc+"\"\n")
		if err != nil {
			t.Fatal(err)
		}
		a := cfg.Catalogs["lp"].auth
		if a.cfg.Type != remote.AuthEDL || a.cfg.Username != "edl-user" || a.cfg.Password != "edl-pass-123" ||
			a.cfg.TokenURL != "https://urs.earthdata.nasa.gov/api/users/find_or_create_token" {
			t.Errorf("auth %q user %q token_url %q", a.cfg.Type, a.cfg.Username, a.cfg.TokenURL)
		}
		if !slices.Equal(a.hosts, []string{"*.earthdatacloud.nasa.gov", "*.earthdata.nasa.gov"}) {
			t.Errorf("hosts %q", a.hosts)
		}
		if !slices.Contains(a.secretFiles, netrc) || slices.Contains(a.secretFiles, "c.toml") {
			t.Errorf("secret files %q: want the netrc, not the config", a.secretFiles)
		}
	})
	t.Run("earthdata $NETRC", func(t *testing.T) {
		t.Setenv("NETRC", netrc)
		cfg, err := ParseConfig("c.toml", "[catalogs.lp]\npreset = \"earthdata\"\nurl = \"https://cmr.earthdata.nasa.gov/stac/LPCLOUD\"\n")
		if err != nil {
			t.Fatal(err)
		}
		if a := cfg.Catalogs["lp"].auth.cfg; a.Type != remote.AuthEDL || a.Password != "edl-pass-123" {
			t.Errorf("auth %q", a.Type)
		}
	})
	t.Run("earthdata token_env", func(t *testing.T) {
		t.Setenv("NETRC", netrc)
		cfg, err := ParseConfig("c.toml", "[catalogs.lp]\npreset = \"earthdata\"\nurl = \"https://cmr.earthdata.nasa.gov/stac/LPCLOUD\"\n[catalogs.lp.auth]\ntoken_env = \"EDL_TOKEN_X\"\n")
		if err != nil {
			t.Fatal(err)
		}
		if a := cfg.Catalogs["lp"].auth.cfg; a.Type != "bearer" || a.Token != "edl-token-abc" {
			t.Errorf("auth %q", a.Type)
		}
	})
	t.Run("earthdata EARTHDATA_TOKEN", func(t *testing.T) {
		t.Setenv("EARTHDATA_TOKEN", "edl-env-token")
		cfg, err := ParseConfig("c.toml", "[catalogs.lp]\npreset = \"earthdata\"\nurl = \"https://cmr.earthdata.nasa.gov/stac/LPCLOUD\"\n")
		if err != nil {
			t.Fatal(err)
		}
		if a := cfg.Catalogs["lp"].auth.cfg; a.Type != "bearer" || a.Token != "edl-env-token" {
			t.Errorf("auth %q", a.Type)
		}
	})

	t.Run("cdse", func(t *testing.T) {
		cfg, err := ParseConfig("c.toml", "[catalogs.cdse]\npreset = \"cdse\"\n[catalogs.cdse.auth]\nusername = \"me@example.org\"\npassword_env = \"CDSE_PW\"\ntotp = \"123456\"\n")
		if err != nil {
			t.Fatal(err)
		}
		cc := cfg.Catalogs["cdse"]
		a := cc.auth.cfg
		if cc.URL != "https://stac.dataspace.copernicus.eu/v1/" || a.Type != "password" || a.ClientID != "cdse-public" ||
			a.Password != "cdse-secret" || a.TOTP != "123456" || cc.prov.maxPerOrigin != 4 {
			t.Errorf("cdse: url %q type %q client %q totp %q max %d", cc.URL, a.Type, a.ClientID, a.TOTP, cc.prov.maxPerOrigin)
		}
		if cc.S3 != nil || cc.hrefPrefer()[0] != "https" {
			t.Errorf("without S3 keys the https alternates come first: prefer %v", cc.hrefPrefer())
		}
		t.Setenv("CDSE_S3_ID", "id")
		t.Setenv("CDSE_S3_SECRET", "secret")
		withKeys, err := ParseConfig("c.toml", "[catalogs.cdse]\npreset = \"cdse\"\n[catalogs.cdse.auth]\nusername = \"me@example.org\"\npassword_env = \"CDSE_PW\"\n[catalogs.cdse.s3]\naccess_key_id_env = \"CDSE_S3_ID\"\nsecret_access_key_env = \"CDSE_S3_SECRET\"\n")
		if err != nil {
			t.Fatal(err)
		}
		if s3 := withKeys.Catalogs["cdse"].s3Config(); s3.Endpoint != "https://eodata.dataspace.copernicus.eu" || s3.Region != "default" || s3.AccessKeyID != "id" {
			t.Errorf("cdse with S3 keys: endpoint %q region %q", s3.Endpoint, s3.Region)
		}
		c := &remote.Client{MaxPerOrigin: 16}
		cc.prov.tuneClient(c)
		if c.MaxPerOrigin != 4 {
			t.Errorf("client MaxPerOrigin %d, want 4", c.MaxPerOrigin)
		}
	})

	checkConfigCases(t, []configCase{
		{"earthdata without url", "[catalogs.lp]\npreset = \"earthdata\"\n", `"catalogs.lp.url": missing: set the CMR-STAC provider`},
		{"earthdata without credentials", "[catalogs.lp]\npreset = \"earthdata\"\nurl = \"https://cmr.earthdata.nasa.gov/stac/LPCLOUD\"\n",
			`"catalogs.lp.auth": no Earthdata Login credentials`},
		{"earthdata missing netrc", "[catalogs.lp]\npreset = \"earthdata\"\nurl = \"https://cmr.earthdata.nasa.gov/stac/LPCLOUD\"\n[catalogs.lp.auth]\nnetrc = \"" + filepath.Join(dir, "nope") + "\"\n",
			`"catalogs.lp.auth.netrc"`},
		{"cdse without password", "[catalogs.cdse]\npreset = \"cdse\"\n[catalogs.cdse.auth]\nusername = \"me\"\n", `"catalogs.cdse.auth.password"`},
		{"pc bad sas_url", "[catalogs.pc]\npreset = \"planetary-computer\"\n[catalogs.pc.auth]\nsas_url = \"ftp://x\"\n", `"catalogs.pc.auth.sas_url"`},
		{"pc bad blob endpoint", "[catalogs.pc]\npreset = \"planetary-computer\"\n[catalogs.pc.auth]\nblob_endpoints = [\"http://x/acct\"]\n", `"catalogs.pc.auth.blob_endpoints"`},
		{"totp without password grant", "[catalogs.pc]\npreset = \"planetary-computer\"\n[catalogs.pc.auth]\ntotp = \"123456\"\n", `"catalogs.pc.auth.totp"`},
		{"unset subscription key env", "[catalogs.pc]\npreset = \"planetary-computer\"\n[catalogs.pc.auth]\nsubscription_key_env = \"NOPE_NOT_SET_X\"\n", `"catalogs.pc.auth.subscription_key_env"`},
	})
}
