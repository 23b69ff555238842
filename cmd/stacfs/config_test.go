package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/remote"
)

// configCase is a config text and the error it gives ("" when valid).
type configCase struct {
	name    string
	text    string
	wantErr string // substring; "" = valid
}

// checkConfigCases parses each case and checks that errors name the key
// (wantErr) and the file.
func checkConfigCases(t *testing.T, cases []configCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig("/etc/stacfs.toml", c.text)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q (config %+v)", c.wantErr, cfg)
			}
			if !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "/etc/stacfs.toml") {
				t.Errorf("error %q does not name %q and the file", err, c.wantErr)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	cases := []configCase{
		{"minimal", "[catalogs.a]\nurl = \"https://h/stac/\"\n", ""},
		{"full", `
[cache]
memory = "1GiB"
block_size = "256KiB"
metadata_ttl = "90s"
[catalogs.esa-maap]
url = "https://catalog.example.org/catalogue/"
collections = ["BiomassLevel1b", "EOP:ESA:Sentinel-2"]
headers = { "X-Signed-Asset-Urls" = "True" }
[catalogs.esa-maap.auth]
type = "none"
`, ""},
		{"unknown key", "[cache]\nmemroy = \"1GiB\"\n[catalogs.a]\nurl = \"https://h/\"\n", `unknown key "cache.memroy" (did you mean "cache.memory"?)`},
		{"unknown catalog key", "[catalogs.a]\nurl = \"https://h/\"\ncolections = []\n", `unknown key "catalogs.a.colections" (did you mean "catalogs.a.collections"?)`},
		{"unknown table", "[cahce]\nmemory = \"1GiB\"\n[catalogs.a]\nurl = \"https://h/\"\n", `unknown key "cahce" (did you mean "cache"?)`},
		{"unknown auth key, embedded struct", "[catalogs.a]\nurl = \"https://h/\"\n[catalogs.a.auth]\nsas_ulr = \"x\"\n", `(did you mean "catalogs.a.auth.sas_url"?)`},
		{"unknown key, nothing close", "[cache]\nbananas = 1\n[catalogs.a]\nurl = \"https://h/\"\n", `unknown key "cache.bananas"`},
		{"bad size", "[cache]\nmemory = \"lots\"\n[catalogs.a]\nurl = \"https://h/\"\n", `key "cache.memory": "lots" is not a size`},
		{"size too small", "[cache]\nmemory = \"1KiB\"\n[catalogs.a]\nurl = \"https://h/\"\n", `key "cache.memory"`},
		{"bad type", "[cache]\nmemory = 512\n[catalogs.a]\nurl = \"https://h/\"\n", `cache.memory`},
		{"bad ttl", "[cache]\nmetadata_ttl = \"soon\"\n[catalogs.a]\nurl = \"https://h/\"\n", `key "cache.metadata_ttl"`},
		{"no catalogs", "[cache]\n", "no catalogs"},
		{"no url", "[catalogs.a]\ncollections = [\"x\"]\n", `key "catalogs.a.url": missing`},
		{"bad url", "[catalogs.a]\nurl = \"ftp://h/\"\n", `key "catalogs.a.url"`},
		{"bad name", "[catalogs.\"a/b\"]\nurl = \"https://h/\"\n", `key "catalogs.a/b"`},
		{"bad header", "[catalogs.a]\nurl = \"https://h/\"\nheaders = { \"bad header\" = \"x\" }\n", `key "catalogs.a.headers"`},
		{"bad auth", "[catalogs.a]\nurl = \"https://h/\"\n[catalogs.a.auth]\ntype = \"magic\"\n", `key "catalogs.a.auth.type"`},
		{"syntax", "[catalogs.a\nurl = 1\n", "line 2"},
		{"bad size names line", "[cache]\n\nmemory = \"lots\"\n[catalogs.a]\nurl = \"https://h/\"\n", `line 3: key "cache.memory": "lots" is not a size`},
		{"size as bytes", "[cache]\nmemory = 536870912\n[catalogs.a]\nurl = \"https://h/\"\n", ""},
		{"duration without unit", "[network]\nretry_budget = 30\n[catalogs.a]\nurl = \"https://h/\"\n", `key "network.retry_budget": "30" is not a duration`},
		{"negative duration", "[network]\nstall_timeout = \"-1s\"\n[catalogs.a]\nurl = \"https://h/\"\n", `key "network.stall_timeout"`},
		{"zero budget", "[network]\nretry_budget = \"0s\"\n[catalogs.a]\nurl = \"https://h/\"\n", `"network.retry_budget"`},
		{"disk without dir", "[cache]\ndisk = \"1GiB\"\n[catalogs.a]\nurl = \"https://h/\"\n", `key "cache.disk": set "cache.dir" too`},
		{"block size range", "[cache]\nblock_size = \"32MiB\"\n[catalogs.a]\nurl = \"https://h/\"\n", `key "cache.block_size": "32MiB" is out of range`},
		{"size of wrong type", "[cache]\nmemory = [1]\n[catalogs.a]\nurl = \"https://h/\"\n", `"cache.memory"`},
	}
	checkConfigCases(t, cases)
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig("x", "[catalogs.a]\nurl = \"https://h/\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cache.Memory != 512<<20 || cfg.Cache.BlockSize != 16<<10 || cfg.Cache.MetadataTTL.Duration != 5*time.Minute {
		t.Errorf("defaults: %d %d %v", cfg.Cache.Memory, cfg.Cache.BlockSize, cfg.Cache.MetadataTTL)
	}
	want := defaultConfig()
	if cfg.Cache.ReadAhead != Size(cache.DefaultMaxReadAhead) || cfg.Cache.Disk != Size(cache.DefaultDiskBytes) ||
		cfg.Network != want.Network || cfg.Network.RetryBudget.Duration != remote.DefaultRetryBudget {
		t.Errorf("defaults: cache %+v network %+v", cfg.Cache, cfg.Network)
	}
	cfg, err = ParseConfig("x", "[cache]\nread_ahead = \"0\"\ndir = \"/d\"\ndisk = \"2GiB\"\n[network]\nretry_budget = \"1m30s\"\n[catalogs.a]\nurl = \"https://h/\"\n")
	if err != nil || cfg.Cache.ReadAhead != 0 || cfg.Cache.Disk != 2<<30 || cfg.Network.RetryBudget.Duration != 90*time.Second {
		t.Errorf("set keys: %+v %+v, %v", cfg.Cache, cfg.Network, err)
	}
	cfg, err = ParseConfig("x", "[cache]\nmemory = \"1.5GB\"\n[catalogs.a]\nurl = \"https://h/\"\n")
	if err != nil || cfg.Cache.Memory != 1500000000 {
		t.Errorf("1.5GB = %d, %v", cfg.Cache.Memory, err)
	}
}

func TestDefaultConfigPath(t *testing.T) {
	t.Setenv("STACFS_CONFIG", "/x/y.toml")
	if p := DefaultConfigPath(); p != "/x/y.toml" {
		t.Errorf("with STACFS_CONFIG: %s", p)
	}
	t.Setenv("STACFS_CONFIG", "")
	t.Setenv("HOME", "/home/u")
	if p := DefaultConfigPath(); p != "/home/u/.config/stacfs/config.toml" {
		t.Errorf("default: %s", p)
	}
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[catalogs.a]\nurl = \"https://h/\"\ntypo = 1\n"), 0o600)
	cases := []struct {
		args []string
		code int
		out  string // substring of stdout+stderr
	}{
		{nil, 2, "Usage:"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"version"}, 0, "stacfs "},
		{[]string{"--help"}, 0, "stacfs mount"},
		{[]string{"mount", "--help"}, 0, "--catalog"},
		{[]string{"demo", "--help"}, 0, "MOUNTPOINT"},
		{[]string{"mount"}, 2, "one MOUNTPOINT"},
		{[]string{"mount", "--bogus", "x"}, 2, "bogus"},
		{[]string{"mount", "--config", bad, dir}, 1, `unknown key "catalogs.a.typo"`},
		{[]string{"mount", "--config", filepath.Join(dir, "missing.toml"), dir}, 1, "missing.toml"},
		{[]string{"mount", "--config", bad, "--log-level", "loud", dir}, 2, "--log-level"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		code := run(context.Background(), c.args, &out, &out)
		if code != c.code || !strings.Contains(out.String(), c.out) {
			t.Errorf("stacfs %q: exit %d, want %d; output %q does not hold %q", c.args, code, c.code, out.String(), c.out)
		}
	}
}

func TestSizeText(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Size
		text string
	}{
		{"512MiB", 512 << 20, "512MiB"},
		{"1GB", 1e9, "1000000000B"},
		{"16 KiB", 16 << 10, "16KiB"},
		{"4096", 4096, "4KiB"},
		{"0", 0, "0B"},
		{"10GiB", 10 << 30, "10GiB"},
	} {
		var s Size
		if err := s.UnmarshalText([]byte(c.in)); err != nil || s != c.want || s.String() != c.text {
			t.Errorf("%q: %d %q %v, want %d %q", c.in, s, s.String(), err, c.want, c.text)
		}
	}
	for _, bad := range []string{"", "lots", "-1MiB", "1XB", "99999999TiB"} {
		var s Size
		if err := s.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q: no error (%d)", bad, s)
		}
	}
}
