package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stacfs/stacfs/internal/redistest"
)

func TestSharedConfig(t *testing.T) {
	t.Setenv("STACFS_TEST_REDIS_PW", "hunter2")
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const cat = "\n[catalogs.a]\nurl = \"https://h/\"\n"
	checkConfigCases(t, []configCase{
		{name: "full", text: `[cache.shared]
url = "redis://cache.internal:6379/0"
password_env = "STACFS_TEST_REDIS_PW"
ttl = "24h"
key_prefix = "fleet1:"
share_protected = true
unit = "1MiB"
timeout = "30ms"
lease_wait = "5s"` + cat},
		{name: "tls with user info", text: "[cache.shared]\nurl = \"rediss://u:pw@cache:6380/1\"" + cat},
		{name: "cluster", text: "[cache.shared]\nurl = \"redis+cluster://a:6379?addr=b:6379\"" + cat},
		{name: "no url", text: "[cache.shared]\nttl = \"1h\"" + cat, wantErr: `key "cache.shared.url": missing`},
		{name: "http url", text: "[cache.shared]\nurl = \"http://h:6379\"" + cat, wantErr: `key "cache.shared.url": scheme "http"`},
		{name: "unset env", text: "[cache.shared]\nurl = \"redis://h:6379\"\npassword_env = \"STACFS_NOT_SET_X\"" + cat, wantErr: `key "cache.shared.password_env"`},
		{name: "missing file", text: "[cache.shared]\nurl = \"redis://h:6379\"\npassword_file = \"/nonexistent/pw\"" + cat, wantErr: `key "cache.shared.password_file"`},
		{name: "small unit", text: "[cache.shared]\nurl = \"redis://h:6379\"\nunit = \"64KiB\"" + cat, wantErr: `key "cache.shared.unit"`},
		{name: "bad ttl", text: "[cache.shared]\nurl = \"redis://h:6379\"\nttl = \"soon\"" + cat, wantErr: `cache.shared.ttl`},
		{name: "unknown key", text: "[cache.shared]\nurl = \"redis://h:6379\"\nsize = 3" + cat, wantErr: `cache.shared.size`},
	})

	cfg, err := ParseConfig("x", "[cache.shared]\nurl = \"redis://h:6379\"\npassword_file = \""+pwFile+"\"\nttl = \"2h\""+cat)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Cache.Shared; s.password != "from-file" || s.TTL.Duration != 2*time.Hour {
		t.Errorf("shared = %+v", s)
	}
	cfg, err = ParseConfig("x", "[cache.shared]\nurl = \"redis://h:6379\"\npassword_env = \"STACFS_TEST_REDIS_PW\""+cat)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cache.Shared.password != "hunter2" {
		t.Errorf("password from env = %q", cfg.Cache.Shared.password)
	}
}

func TestSharedConfigPasswordNotInErrors(t *testing.T) {
	_, err := ParseConfig("x", "[cache.shared]\nurl = \"ftp://u:hunter2@h:6379\"\n[catalogs.a]\nurl = \"https://h/\"\n")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v", err)
	}
}

func TestShares(t *testing.T) {
	base := "[cache.shared]\nurl = \"redis://h:6379\"\n%s\n[catalogs.open]\nurl = \"https://h/\"\n" +
		"[catalogs.keyed]\nurl = \"https://h/\"\nheaders = {X-Api-Key = \"k\"}\n" +
		"[catalogs.auth]\nurl = \"https://h/\"\n[catalogs.auth.auth]\ntype = \"bearer\"\ntoken = \"t\"\n" +
		"[catalogs.pc]\npreset = \"planetary-computer\"\n"
	for _, tt := range []struct {
		extra string
		want  map[string]bool
	}{
		{"", map[string]bool{"open": true, "keyed": false, "auth": false, "pc": false}},
		{"share_protected = true", map[string]bool{"open": true, "keyed": true, "auth": true, "pc": true}},
	} {
		cfg, err := ParseConfig("x", strings.Replace(base, "%s", tt.extra, 1))
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range tt.want {
			if got := shares(cfg, cfg.Catalogs[name]); got != want {
				t.Errorf("%q: shares(%s) = %v, want %v", tt.extra, name, got, want)
			}
		}
	}
	cfg, err := ParseConfig("x", "[catalogs.open]\nurl = \"https://h/\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if shares(cfg, cfg.Catalogs["open"]) {
		t.Error("shares without [cache.shared]")
	}
}

func TestCheckShared(t *testing.T) {
	rs := redistest.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	if err := rdb.ConfigSet(t.Context(), "requirepass", "right-pw-123").Err(); err != nil {
		t.Fatal(err)
	}
	rdb.Close()
	down := redistest.StartT(t)
	down.Stop()
	tests := []struct {
		name, url, password string
		want                string
	}{
		{"right password", rs.URL(), "right-pw-123", "ok   shared cache redis://" + rs.Addr + "/0: PING, SET, GET and DEL in"},
		{"password in the URL", "redis://:right-pw-123@" + rs.Addr + "/0", "", "ok   shared cache redis://:xxxxx@" + rs.Addr + "/0: PING"},
		{"wrong password", rs.URL(), "wrong-pw-456", "FAIL shared cache redis://" + rs.Addr + "/0: round trip: PING: WRONGPASS"},
		{"server down", down.URL(), "", "FAIL shared cache redis://" + down.Addr + "/0: round trip: PING:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("STACFS_TEST_CHECK_PW", tt.password)
			text := fmt.Sprintf("[cache.shared]\nurl = %q\n", tt.url)
			if tt.password != "" {
				text += "password_env = \"STACFS_TEST_CHECK_PW\"\n"
			}
			cfg, err := ParseConfig("x", text+"[catalogs.a]\nurl = \"https://h/\"\n")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			checkShared(t.Context(), cfg, &checkReport{w: &out})
			if !strings.HasPrefix(out.String(), tt.want) {
				t.Errorf("check printed %q, want %q...", out.String(), tt.want)
			}
			for _, pw := range []string{"right-pw-123", "wrong-pw-456"} {
				if strings.Contains(out.String(), pw) {
					t.Errorf("check printed the password: %q", out.String())
				}
			}
		})
	}
}
