package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{"unknown key", "[cache]\nmemroy = \"1GiB\"\n[catalogs.a]\nurl = \"https://h/\"\n", `unknown key "cache.memroy"`},
		{"unknown catalog key", "[catalogs.a]\nurl = \"https://h/\"\ncolections = []\n", `unknown key "catalogs.a.colections"`},
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
	}
	checkConfigCases(t, cases)
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig("x", "[catalogs.a]\nurl = \"https://h/\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.memory != 512<<20 || cfg.blockSize != 16<<10 || cfg.metadataTTL != 5*time.Minute {
		t.Errorf("defaults: %d %d %v", cfg.memory, cfg.blockSize, cfg.metadataTTL)
	}
	cfg, err = ParseConfig("x", "[cache]\nmemory = \"1.5GB\"\n[catalogs.a]\nurl = \"https://h/\"\n")
	if err != nil || cfg.memory != 1500000000 {
		t.Errorf("1.5GB = %d, %v", cfg.memory, err)
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
