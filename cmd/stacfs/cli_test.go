package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestHelpText: flags are shown as they are typed (--name), an error is
// printed once, version --help is help, and the top-level help shows both
// tree shapes.
func TestHelpText(t *testing.T) {
	runOut := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := run(context.Background(), args, &out, &out)
		return code, out.String()
	}
	for _, cmd := range []string{"mount", "demo", "check", "prefetch"} {
		code, out := runOut(cmd, "--help")
		if code != 0 || !strings.Contains(out, "Usage: stacfs "+cmd) || !strings.Contains(out, "-h, --help") {
			t.Errorf("%s --help: exit %d\n%s", cmd, code, out)
		}
		if m := regexp.MustCompile(`(?m)^\s+-[a-z][a-z-]+`).FindString(out); m != "" {
			t.Errorf("%s --help lists a flag with one dash: %q", cmd, m)
		}
	}
	_, out := runOut("mount", "--help")
	for _, want := range []string{"--allow-other", "--cache-memory SIZE", "--cache-dir DIR", "--cache-disk SIZE", "--metadata-ttl DURATION",
		"--start-timeout DURATION", "--uid ID", "--umask MODE"} {
		if !strings.Contains(out, want) {
			t.Errorf("mount --help lacks %q", want)
		}
	}
	if strings.Contains(out, "else it is discarded") || !strings.Contains(out, "instead of stderr") {
		t.Errorf("--log-file help still says it works only with --daemon:\n%s", out)
	}
	code, out := runOut("mount", "--bogus", "x")
	if code != 2 || strings.Count(out, "bogus") != 1 {
		t.Errorf("mount --bogus: exit %d, want the error once:\n%s", code, out)
	}
	code, out = runOut("version", "--help")
	if code != 0 || !strings.Contains(out, "Usage: stacfs version") || strings.Contains(out, "stacfs devel") {
		t.Errorf("version --help: exit %d\n%s", code, out)
	}
	code, out = runOut("--help")
	if code != 0 || !strings.Contains(out, "<catalog>/<collection>/<YYYY>/<MM>/<DD>/<item>/") || !strings.Contains(out, "--catalog NAME the root") {
		t.Errorf("--help: exit %d, does not show both tree shapes:\n%s", code, out)
	}
	// Help asked for goes to stdout (stacfs mount --help | less); the usage
	// after a mistake to stderr.
	for _, cmd := range []string{"mount", "check", "token", "prefetch", "refresh", "demo", "version"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{cmd, "--help"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "Usage: stacfs "+cmd) || stderr.Len() != 0 {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q; want the usage on stdout only", cmd, code, stdout.String(), stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"prefetch"}, &stdout, &stderr); code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "Usage: stacfs prefetch") {
		t.Errorf("prefetch without a path: exit %d, stdout %q, stderr %q; want the usage on stderr", code, stdout.String(), stderr.String())
	}
	// A negative value keeps its one dash.
	for _, args := range [][]string{{"mount", "--start-timeout", "-1s", "--url", "http://127.0.0.1:1/", "x"}, {"mount", "--metadata-ttl", "-5m", "--url", "http://127.0.0.1:1/", "x"}} {
		code, out := runOut(args...)
		if code != 2 || strings.Contains(out, "--1s") || strings.Contains(out, "--5m") || !strings.Contains(out, args[2]) {
			t.Errorf("%s: exit %d, want 2 and the value as given:\n%s", strings.Join(args, " "), code, out)
		}
	}
	// Go's single-dash spelling still works.
	fl := newFlagSet("x", "x", &bytes.Buffer{}, &bytes.Buffer{})
	v := fl.String("config", "", "")
	n := fl.Int("jobs", 0, "")
	if pos, err := parse(fl, []string{"dir", "-config", "a", "--jobs", "-1"}); err != nil || *v != "a" || *n != -1 || len(pos) != 1 {
		t.Errorf("parse: %q %v config %q jobs %d", pos, err, *v, *n)
	}
}

// TestConfigFlags: --cache-memory, --cache-dir, --cache-disk and
// --metadata-ttl override the config, and are checked as its keys are.
func TestConfigFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		check   func(*Config) bool
		wantErr string
	}{
		{[]string{"--cache-memory", "1GiB", "--metadata-ttl", "10m"}, func(c *Config) bool {
			return c.Cache.Memory == 1<<30 && c.Cache.MetadataTTL.Duration == 10*time.Minute && c.Cache.BlockSize == 16<<10
		}, ""},
		{[]string{"--cache-dir", "/var/cache/stacfs", "--cache-disk", "20GiB"}, func(c *Config) bool {
			return c.Cache.Dir == "/var/cache/stacfs" && c.Cache.Disk == 20<<30
		}, ""},
		{[]string{"--cache-memory", "1KiB"}, nil, `"cache.memory"`},
		{[]string{"--cache-disk", "1GiB"}, nil, "--cache-dir"},
		{[]string{"--metadata-ttl", "soon"}, nil, `"soon" is not a duration`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cfg, err := ParseConfig("x.toml", "[cache]\nmemory = \"64MiB\"\n[catalogs.a]\nurl = \"https://h/\"\n")
			if err != nil {
				t.Fatal(err)
			}
			fl := pflag.NewFlagSet("t", pflag.ContinueOnError)
			var cf configFlags
			cf.register(fl)
			err = fl.Parse(tc.args)
			if err == nil {
				err = cf.apply(cfg)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(cfg) {
				t.Errorf("err %v, cache %+v", err, cfg.Cache)
			}
		})
	}
}

func TestMountKeys(t *testing.T) {
	cfg, err := ParseConfig("x.toml", "[mount]\nuid = 1000\ngid = 100\numask = \"027\"\nallow_root = true\n[catalogs.a]\nurl = \"https://h/\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if f, d := cfg.Mount.modes(); f != 0o440 || d != 0o550 || *cfg.Mount.UID != 1000 || *cfg.Mount.GID != 100 || !cfg.Mount.AllowRoot {
		t.Errorf("modes %o %o, mount %+v", f, d, cfg.Mount)
	}
	cfg, err = ParseConfig("x.toml", "[mount]\nfile_mode = 0o640\ndir_mode = \"0750\"\n[catalogs.a]\nurl = \"https://h/\"\n")
	if f, d := cfg.Mount.modes(); err != nil || f != 0o640 || d != 0o750 {
		t.Errorf("modes %o %o, %v", f, d, err)
	}
	checkConfigCases(t, []configCase{
		{"decimal mode", "[mount]\nfile_mode = 644\n[catalogs.a]\nurl = \"https://h/\"\n", `key "mount.file_mode": 644 is not a mode`},
		{"bad umask", "[mount]\numask = \"9\"\n[catalogs.a]\nurl = \"https://h/\"\n", `key "mount.umask"`},
		{"bad uid", "[mount]\nuid = -1\n[catalogs.a]\nurl = \"https://h/\"\n", `key "mount.uid"`},
	})
}

// TestTokenIgnoresOtherCatalogs: `stacfs token --catalog good` works while another
// catalog of the config cannot be used (its credentials file is missing), and names
// the problem when that catalog is the one asked for.
func TestTokenIgnoresOtherCatalogs(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	text := `[catalogs.good]
url = "http://127.0.0.1:1/stac"
[catalogs.good.auth]
type = "bearer"
token = "tok-good"

[catalogs.bad]
preset = "esa-maap"
[catalogs.bad.auth]
credentials_file = "` + filepath.Join(dir, "missing.txt") + `"
`
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		catalog, out, err string
		code              int
	}{
		{"good", "tok-good\n", "", 0},
		{"bad", "", `key "catalogs.bad.auth.credentials_file"`, 1},
	} {
		var out, errs bytes.Buffer
		code := run(context.Background(), []string{"token", "--config", cfg, "--catalog", tc.catalog}, &out, &errs)
		if code != tc.code || out.String() != tc.out || !strings.Contains(errs.String(), tc.err) {
			t.Errorf("token --catalog %s: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q",
				tc.catalog, code, out.String(), errs.String(), tc.code, tc.out, tc.err)
		}
	}
}
