package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/stacfs/stacfs/remote"
)

// AuthConfig is a [catalogs.NAME.auth] table. Every secret key also takes
// KEY_env (an environment variable) and KEY_file (a file holding the value).
type AuthConfig struct {
	Type     string   `toml:"type"` // none | bearer | refresh_token | password | client_credentials
	TokenURL string   `toml:"token_url"`
	Scopes   []string `toml:"scopes"`
	Hosts    []string `toml:"hosts"`
	// ClientAuth is how the client authenticates to the token endpoint:
	// "basic" (HTTP Basic) or "form" (client_id/client_secret in the body).
	ClientAuth string `toml:"client_auth"`

	ClientID         string `toml:"client_id"`
	ClientIDEnv      string `toml:"client_id_env"`
	ClientIDFile     string `toml:"client_id_file"`
	ClientSecret     string `toml:"client_secret"`
	ClientSecretEnv  string `toml:"client_secret_env"`
	ClientSecretFile string `toml:"client_secret_file"`
	RefreshToken     string `toml:"refresh_token"`
	RefreshTokenEnv  string `toml:"refresh_token_env"`
	RefreshTokenFile string `toml:"refresh_token_file"`
	Username         string `toml:"username"`
	UsernameEnv      string `toml:"username_env"`
	UsernameFile     string `toml:"username_file"`
	Password         string `toml:"password"`
	PasswordEnv      string `toml:"password_env"`
	PasswordFile     string `toml:"password_file"`
	Token            string `toml:"token"`
	TokenEnv         string `toml:"token_env"`
	TokenFile        string `toml:"token_file"`

	// CredentialsFile holds KEY=VALUE lines as in ESA's notebook:
	// CLIENT_ID, CLIENT_SECRET, OFFLINE_TOKEN.
	CredentialsFile string `toml:"credentials_file"`
	// EnvFile is a dotenv file as EarthPlatform hands out: EDS_CLIENT_ID,
	// EDS_SECRET, EDS_AUTH_URL, EDS_API_URL.
	EnvFile string `toml:"env_file"`

	ProviderAuth // keys of the cloud providers' presets (providers.go)
}

// resolvedAuth is an auth table with every value read, and the files that
// held secrets (checked for loose permissions at mount).
type resolvedAuth struct {
	cfg         remote.AuthConfig
	hosts       []string
	secretFiles []string
}

// preset is what a provider preset fills in.
type preset struct {
	url      string
	auth     AuthConfig
	headers  map[string]string
	keepRT   bool
	defaults map[string]string // default credential files, when nothing else is set
}

// presets are the providers stacfs knows (facts: docs/providers in the README).
var presets = map[string]preset{
	"esa-maap": {
		url: "https://catalog.maap.eo.esa.int/catalogue/",
		auth: AuthConfig{
			Type:     "refresh_token",
			TokenURL: "https://iam.maap.eo.esa.int/realms/esa-maap/protocol/openid-connect/token",
			ClientID: "offline-token",
			Scopes:   []string{"offline_access", "openid"},
		},
		keepRT:   true,
		defaults: map[string]string{"credentials_file": "~/credentials.txt"},
	},
	"terrascope": {
		url: "https://stac.terrascope.be/",
		auth: AuthConfig{
			Type:     "password",
			TokenURL: "https://sso.terrascope.be/auth/realms/terrascope/protocol/openid-connect/token",
			ClientID: "public",
			Hosts:    []string{"services.terrascope.be"},
		},
	},
	"earthplatform": {
		url: "https://api.earthdaily.com/platform/v1/stac",
		auth: AuthConfig{
			Type:       "client_credentials",
			ClientAuth: "basic",
		},
		headers:  map[string]string{"X-Signed-Asset-Urls": "True"},
		defaults: map[string]string{"env_file": "~/EDS.env"},
	},
}

// applyPreset fills what the catalog's preset provides and the user did not
// set.
func (cat *CatalogConfig) applyPreset(key string) error {
	if cat.Preset == "" {
		return nil
	}
	if pp, ok := providerPresets[cat.Preset]; ok {
		return cat.applyProviderPreset(key, pp)
	}
	p, ok := presets[cat.Preset]
	if !ok {
		return fmt.Errorf("key %q: unknown preset %q (want esa-maap, terrascope, earthplatform, planetary-computer, earthdata or cdse)", key+".preset", cat.Preset)
	}
	a := cat.presetAuth(p.auth.Type, p.auth.TokenURL, p.auth.ClientID, p.auth.Hosts)
	a.ClientAuth = cmp.Or(a.ClientAuth, p.auth.ClientAuth)
	if a.Scopes == nil {
		a.Scopes = p.auth.Scopes
	}
	for k, v := range p.headers {
		if cat.Headers == nil {
			cat.Headers = map[string]string{}
		}
		if _, set := cat.Headers[k]; !set {
			cat.Headers[k] = v
		}
	}
	if a.CredentialsFile == "" && a.EnvFile == "" && !a.hasSecrets() {
		if f := p.defaults["credentials_file"]; f != "" {
			a.CredentialsFile = f
		}
		if f := p.defaults["env_file"]; f != "" {
			a.EnvFile = f
		}
	}
	if cat.URL == "" && a.EnvFile == "" {
		cat.URL = p.url
	}
	return nil
}

// presetAuth fills the auth keys every preset may provide and the user did not
// set: the auth type, the token URL, the client id (unless given in any form),
// and the hosts the token goes to (added to the user's). It returns the auth
// table, made when the config has none.
func (cat *CatalogConfig) presetAuth(typ, tokenURL, clientID string, hosts []string) *AuthConfig {
	if cat.Auth == nil {
		cat.Auth = &AuthConfig{}
	}
	a := cat.Auth
	a.Type = cmp.Or(a.Type, typ)
	a.TokenURL = cmp.Or(a.TokenURL, tokenURL)
	if a.ClientID == "" && a.ClientIDEnv == "" && a.ClientIDFile == "" {
		a.ClientID = clientID
	}
	a.Hosts = append(a.Hosts, hosts...)
	return a
}

func (a *AuthConfig) hasSecrets() bool {
	for _, v := range []string{a.ClientSecret, a.ClientSecretEnv, a.ClientSecretFile, a.RefreshToken, a.RefreshTokenEnv,
		a.RefreshTokenFile, a.Password, a.PasswordEnv, a.PasswordFile, a.Token, a.TokenEnv, a.TokenFile} {
		if v != "" {
			return true
		}
	}
	return false
}

// expandHome turns a leading ~ into the home directory.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// readKV reads a KEY=VALUE file (dotenv syntax: comments, blank lines,
// quoted values, "export").
func readKV(key, path string) (map[string]string, error) {
	f, err := os.Open(expandHome(path))
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", key, err)
	}
	defer f.Close()
	m, err := godotenv.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("key %q: %s: %w", key, path, err)
	}
	return m, nil
}

// resolveAuth reads every value of the auth table: direct keys first, then
// KEY_env, KEY_file, then credentials_file / env_file.
func (cat *CatalogConfig) resolveAuth(key, cfgPath string) error {
	a := cat.Auth
	if a == nil {
		a = &AuthConfig{}
	}
	k := key + ".auth"
	r := resolvedAuth{}
	switch a.Type {
	case "", "none", "bearer", "refresh_token", "password", "client_credentials", remote.AuthEDL:
	default:
		return fmt.Errorf("key %q: unknown auth type %q (want none, bearer, refresh_token, password, client_credentials or edl)", k+".type", a.Type)
	}
	switch a.ClientAuth {
	case "", "basic", "form":
	default:
		return fmt.Errorf("key %q: %q (want basic or form)", k+".client_auth", a.ClientAuth)
	}
	from := map[string]string{} // values from credentials_file / env_file, by key
	for _, f := range []struct {
		key, path string
		keys      map[string]string // the file's name of a value: its key
	}{
		{"credentials_file", a.CredentialsFile, map[string]string{"CLIENT_ID": "client_id", "CLIENT_SECRET": "client_secret", "OFFLINE_TOKEN": "refresh_token"}},
		{"env_file", a.EnvFile, map[string]string{"EDS_CLIENT_ID": "client_id", "EDS_SECRET": "client_secret", "EDS_AUTH_URL": "token_url", "EDS_API_URL": "url"}},
	} {
		if f.path == "" {
			continue
		}
		m, err := readKV(k+"."+f.key, f.path)
		if err != nil {
			return err
		}
		r.secretFiles = append(r.secretFiles, expandHome(f.path))
		for src, dst := range f.keys {
			if v := m[src]; v != "" {
				from[dst] = v
			}
		}
	}
	if v := from["url"]; v != "" && cat.URL == "" {
		cat.URL = v
	}
	value := func(name, direct, env, file string) (string, error) {
		v, err := secretValue(k, name, direct, env, file, &r.secretFiles)
		if v != "" || err != nil {
			return v, err
		}
		return from[name], nil
	}
	var err error
	c := remote.AuthConfig{Type: a.Type, Scopes: a.Scopes, ClientAuth: a.ClientAuth, Timeout: 30 * time.Second}
	if c.Type == "" {
		c.Type = "none"
	}
	c.TokenURL = a.TokenURL
	if c.TokenURL == "" {
		c.TokenURL = from["token_url"]
	}
	for _, f := range []struct {
		name              string
		dst               *string
		direct, env, file string
	}{
		{"client_id", &c.ClientID, a.ClientID, a.ClientIDEnv, a.ClientIDFile},
		{"client_secret", &c.ClientSecret, a.ClientSecret, a.ClientSecretEnv, a.ClientSecretFile},
		{"refresh_token", &c.RefreshToken, a.RefreshToken, a.RefreshTokenEnv, a.RefreshTokenFile},
		{"username", &c.Username, a.Username, a.UsernameEnv, a.UsernameFile},
		{"password", &c.Password, a.Password, a.PasswordEnv, a.PasswordFile},
		{"token", &c.Token, a.Token, a.TokenEnv, a.TokenFile},
	} {
		if *f.dst, err = value(f.name, f.direct, f.env, f.file); err != nil {
			return err
		}
	}
	if cat.Preset == "esa-maap" {
		c.KeepRefreshToken = true
	}
	need := map[string][]string{
		"bearer":             {"token"},
		"refresh_token":      {"token_url", "client_id", "refresh_token"},
		"password":           {"token_url", "client_id", "username", "password"},
		"client_credentials": {"token_url", "client_id", "client_secret"},
		remote.AuthEDL:       {"token_url", "username", "password"},
	}[c.Type]
	got := map[string]string{"token": c.Token, "token_url": c.TokenURL, "client_id": c.ClientID, "refresh_token": c.RefreshToken,
		"username": c.Username, "password": c.Password, "client_secret": c.ClientSecret}
	for _, n := range need {
		if got[n] == "" {
			hint := fmt.Sprintf("set %s, %s_env or %s_file", n, n, n)
			if n == "token_url" {
				hint = "set token_url"
			}
			return fmt.Errorf("key %q: missing for auth type %q (%s)", k+"."+n, c.Type, hint)
		}
	}
	if c.TokenURL != "" && !strings.HasPrefix(c.TokenURL, "https://") && !strings.HasPrefix(c.TokenURL, "http://") {
		return fmt.Errorf("key %q: %q is not an http(s) URL", k+".token_url", c.TokenURL)
	}
	for _, h := range a.Hosts {
		if h == "" || strings.ContainsAny(h, "/ ") && !strings.Contains(h, "://") {
			return fmt.Errorf("key %q: %q is not a host or host:port", k+".hosts", h)
		}
	}
	r.cfg = c
	r.hosts = a.Hosts
	cat.auth = r
	if c.Type != "none" && (a.ClientSecret != "" || a.RefreshToken != "" || a.Password != "" || a.Token != "") {
		r.secretFiles = append(r.secretFiles, cfgPath)
		cat.auth = r
	}
	return nil
}

// looseFile is a warning about a secret file: its message and slog
// attributes, the same in mount's log and check's report.
type looseFile struct {
	msg  string
	args []any
}

// loosePermissions returns a warning for every secret file that group or
// others can read (never an error).
func loosePermissions(cats []*CatalogConfig) []looseFile {
	var out []looseFile
	seen := map[string]bool{}
	for _, cat := range cats {
		for _, f := range cat.auth.secretFiles {
			if seen[f] {
				continue
			}
			seen[f] = true
			fi, err := os.Stat(f)
			if err == nil && fi.Mode().Perm()&0o077 != 0 {
				out = append(out, looseFile{"a file holding secrets is readable by others; run chmod 600 on it",
					[]any{"file", f, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()), "catalog", cat.name}})
			}
		}
	}
	return out
}

// warnLoosePermissions logs loosePermissions.
func warnLoosePermissions(log *slog.Logger, cats []*CatalogConfig) {
	for _, w := range loosePermissions(cats) {
		log.Warn(w.msg, w.args...)
	}
}
