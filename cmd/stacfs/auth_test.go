package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuthConfig(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.txt")
	os.WriteFile(creds, []byte("# ESA\nCLIENT_ID=offline-token\nCLIENT_SECRET=s3cr3t\n\nOFFLINE_TOKEN=off.line.tok\n"), 0o600)
	eds := filepath.Join(dir, "EDS.env")
	os.WriteFile(eds, []byte("EDS_CLIENT_ID=\"EARTHDAILY_API_TOKEN\"\nEDS_SECRET='eds-secret'\nexport EDS_AUTH_URL=https://auth.example.com/oauth2/token\nEDS_API_URL=\"https://api.example.com/platform/v1/stac\"\n"), 0o600)
	pwfile := filepath.Join(dir, "pw")
	os.WriteFile(pwfile, []byte("file-password\n"), 0o600)
	t.Setenv("STACFS_TEST_PW", "env-password")

	cases := []struct {
		name    string
		text    string
		check   func(t *testing.T, cc *CatalogConfig)
		wantErr string
	}{
		{
			name: "esa preset with credentials file",
			text: fmt.Sprintf("[catalogs.maap]\npreset = \"esa-maap\"\n[catalogs.maap.auth]\ncredentials_file = %q\n", creds),
			check: func(t *testing.T, cc *CatalogConfig) {
				a := cc.auth.cfg
				if a.Type != "refresh_token" || a.ClientID != "offline-token" || a.ClientSecret != "s3cr3t" || a.RefreshToken != "off.line.tok" ||
					!a.KeepRefreshToken || !strings.Contains(a.TokenURL, "iam.maap.eo.esa.int") || cc.URL != "https://catalog.maap.eo.esa.int/catalogue/" {
					t.Errorf("resolved %+v url %s", a, cc.URL)
				}
				if strings.Join(a.Scopes, " ") != "offline_access openid" {
					t.Errorf("scopes %v", a.Scopes)
				}
			},
		},
		{
			name: "earthplatform preset with EDS.env",
			text: fmt.Sprintf("[catalogs.eds]\npreset = \"earthplatform\"\n[catalogs.eds.auth]\nenv_file = %q\n", eds),
			check: func(t *testing.T, cc *CatalogConfig) {
				a := cc.auth.cfg
				if a.Type != "client_credentials" || a.ClientID != "EARTHDAILY_API_TOKEN" || a.ClientSecret != "eds-secret" ||
					a.TokenURL != "https://auth.example.com/oauth2/token" || a.ClientAuth != "basic" || cc.URL != "https://api.example.com/platform/v1/stac" {
					t.Errorf("resolved %+v url %s", a, cc.URL)
				}
				if cc.Headers["X-Signed-Asset-Urls"] != "True" {
					t.Errorf("headers %v", cc.Headers)
				}
			},
		},
		{
			name: "terrascope preset with password from env",
			text: "[catalogs.ts]\npreset = \"terrascope\"\n[catalogs.ts.auth]\nusername = \"me\"\npassword_env = \"STACFS_TEST_PW\"\n",
			check: func(t *testing.T, cc *CatalogConfig) {
				a := cc.auth.cfg
				if a.Type != "password" || a.ClientID != "public" || a.Password != "env-password" || a.Username != "me" {
					t.Errorf("resolved %+v", a)
				}
				if strings.Join(cc.auth.hosts, ",") != "services.terrascope.be" {
					t.Errorf("hosts %v", cc.auth.hosts)
				}
			},
		},
		{
			name: "direct value wins over file; _file read and trimmed",
			text: fmt.Sprintf("[catalogs.a]\nurl = \"https://h/\"\n[catalogs.a.auth]\ntype = \"password\"\ntoken_url = \"https://h/token\"\nclient_id = \"c\"\nusername = \"u\"\npassword_file = %q\n", pwfile),
			check: func(t *testing.T, cc *CatalogConfig) {
				if cc.auth.cfg.Password != "file-password" {
					t.Errorf("password %q", cc.auth.cfg.Password)
				}
			},
		},
		{
			name: "bearer",
			text: "[catalogs.a]\nurl = \"https://h/\"\n[catalogs.a.auth]\ntype = \"bearer\"\ntoken_env = \"STACFS_TEST_PW\"\n",
			check: func(t *testing.T, cc *CatalogConfig) {
				if cc.auth.cfg.Token != "env-password" {
					t.Errorf("token %q", cc.auth.cfg.Token)
				}
			},
		},
		{"unknown preset", "[catalogs.a]\npreset = \"nasa\"\n", nil, `key "catalogs.a.preset"`},
		{"unknown type", "[catalogs.a]\nurl = \"https://h/\"\n[catalogs.a.auth]\ntype = \"magic\"\n", nil, `key "catalogs.a.auth.type"`},
		{"missing refresh token", "[catalogs.a]\nurl = \"https://h/\"\n[catalogs.a.auth]\ntype = \"refresh_token\"\ntoken_url = \"https://h/t\"\nclient_id = \"c\"\n", nil, `key "catalogs.a.auth.refresh_token": missing`},
		{"missing env var", "[catalogs.a]\nurl = \"https://h/\"\n[catalogs.a.auth]\ntype = \"bearer\"\ntoken_env = \"STACFS_NOT_SET_X\"\n", nil, `key "catalogs.a.auth.token_env": environment variable STACFS_NOT_SET_X`},
		{"missing credentials file", "[catalogs.a]\npreset = \"esa-maap\"\n[catalogs.a.auth]\ncredentials_file = \"/nonexistent/credentials.txt\"\n", nil, `key "catalogs.a.auth.credentials_file"`},
		{"bad client auth", "[catalogs.a]\nurl = \"https://h/\"\n[catalogs.a.auth]\nclient_auth = \"header\"\n", nil, `key "catalogs.a.auth.client_auth"`},
		{"unknown auth key", "[catalogs.a]\nurl = \"https://h/\"\n[catalogs.a.auth]\nsecret = \"x\"\n", nil, `unknown key "catalogs.a.auth.secret"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("HOME", dir)
			cfg, err := ParseConfig("cfg.toml", c.text)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "cfg.toml") {
					t.Fatalf("error %v, want one naming %s and the file", err, c.wantErr)
				}
				for _, secret := range []string{"s3cr3t", "eds-secret", "env-password", "file-password"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error holds a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, cc := range cfg.Catalogs {
				c.check(t, cc)
			}
		})
	}
}

func TestWarnLoosePermissions(t *testing.T) {
	dir := t.TempDir()
	loose := filepath.Join(dir, "credentials.txt")
	os.WriteFile(loose, []byte("CLIENT_ID=a\nCLIENT_SECRET=b\nOFFLINE_TOKEN=c\n"), 0o644)
	cfg, err := ParseConfig("cfg.toml", fmt.Sprintf("[catalogs.a]\npreset = \"esa-maap\"\n[catalogs.a.auth]\ncredentials_file = %q\n", loose))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	warnLoosePermissions(slog.New(slog.NewTextHandler(&buf, nil)), []*CatalogConfig{cfg.Catalogs["a"]})
	if !strings.Contains(buf.String(), "readable by others") || !strings.Contains(buf.String(), loose) {
		t.Errorf("no warning for a 0644 credentials file: %q", buf.String())
	}
	os.Chmod(loose, 0o600)
	buf.Reset()
	warnLoosePermissions(slog.New(slog.NewTextHandler(&buf, nil)), []*CatalogConfig{cfg.Catalogs["a"]})
	if buf.Len() != 0 {
		t.Errorf("warning for a 0600 file: %q", buf.String())
	}
}

// TestExampleConfig keeps config.toml.example valid.
func TestExampleConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("TERRASCOPE_PASSWORD", "pw")
	os.WriteFile(filepath.Join(home, "credentials.txt"), []byte("CLIENT_ID=offline-token\nCLIENT_SECRET=x\nOFFLINE_TOKEN=y\n"), 0o600)
	os.WriteFile(filepath.Join(home, "EDS.env"), []byte("EDS_CLIENT_ID=a\nEDS_SECRET=b\nEDS_AUTH_URL=https://a/t\nEDS_API_URL=https://a/stac\n"), 0o600)
	cfg, err := LoadConfig("../../config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.CatalogNames(), ","); got != "earth-search,earthplatform,esa-maap,planetary-computer,terrascope" {
		t.Errorf("catalogs %s", got)
	}
}
