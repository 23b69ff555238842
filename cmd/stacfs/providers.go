package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jdx/go-netrc"

	"github.com/stacfs/stacfs/remote"
)

// ProviderAuth holds the [catalogs.NAME.auth] keys of the cloud providers' presets
// (embedded in AuthConfig, so they sit beside the other auth keys).
type ProviderAuth struct {
	// SASURL is the Planetary Computer SAS API (the preset's, or a test's).
	SASURL string `toml:"sas_url"`
	// SubscriptionKey is the optional Planetary Computer subscription key (also
	// subscription_key_env, subscription_key_file; default $PC_SDK_SUBSCRIPTION_KEY).
	SubscriptionKey     string `toml:"subscription_key"`
	SubscriptionKeyEnv  string `toml:"subscription_key_env"`
	SubscriptionKeyFile string `toml:"subscription_key_file"`
	// BlobEndpoints are Azure blob origins that name the account in the path (the
	// Azurite emulator), signed like <account>.blob.core.windows.net.
	BlobEndpoints []string `toml:"blob_endpoints"`
	// TOTP is the two-factor code for the password grant (CDSE): a one-time code, or
	// the base32 secret of the authenticator app (also totp_env, totp_file).
	TOTP     string `toml:"totp"`
	TOTPEnv  string `toml:"totp_env"`
	TOTPFile string `toml:"totp_file"`
	// Netrc is the .netrc file of Earthdata Login credentials (default $NETRC, else
	// ~/.netrc).
	Netrc string `toml:"netrc"`
}

// providerPreset is what the preset of a cloud provider fills in: its real https
// endpoints (facts: PROVIDERS.md, checked by TestProviderPresetsMatchFacts).
type providerPreset struct {
	url          string   // STAC API; "" when the user must choose (one CMR provider per catalog)
	urlHint      string   // the error when url is missing
	authType     string   // auth type when the user sets none ("" decides from the credentials)
	tokenURL     string   // token endpoint
	clientID     string   // OAuth2 client
	sasURL       string   // SAS API
	hosts        []string // hosts that get the bearer token, besides the STAC API's
	maxPerOrigin int      // cap of concurrent requests per host (0: the [network] one)
	s3Endpoint   string   // [s3] endpoint when the user has an [s3] table (keys) and sets none
	s3Region     string   // [s3] region likewise
}

// Cloud provider presets.
const (
	presetPC        = "planetary-computer"
	presetEarthdata = "earthdata"
	presetCDSE      = "cdse"
)

// providerPresets are the presets of the cloud providers.
var providerPresets = map[string]providerPreset{
	presetPC: {
		url:    "https://planetarycomputer.microsoft.com/api/stac/v1",
		sasURL: "https://planetarycomputer.microsoft.com/api/sas/v1",
	},
	presetEarthdata: {
		urlHint:  "set the CMR-STAC provider's STAC API, e.g. https://cmr.earthdata.nasa.gov/stac/LPCLOUD",
		tokenURL: "https://urs.earthdata.nasa.gov/api/users/find_or_create_token",
		hosts:    []string{"*.earthdatacloud.nasa.gov", "*.earthdata.nasa.gov"},
	},
	presetCDSE: {
		url:          "https://stac.dataspace.copernicus.eu/v1/",
		authType:     "password",
		tokenURL:     "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token",
		clientID:     "cdse-public",
		hosts:        []string{"zipper.dataspace.copernicus.eu", "download.dataspace.copernicus.eu"},
		maxPerOrigin: 4,
		s3Endpoint:   "https://eodata.dataspace.copernicus.eu",
		s3Region:     "default",
	},
}

// providerSetup is what a catalog of a cloud provider needs besides its auth: filled by
// resolveProvider.
type providerSetup struct {
	preset          string
	sasURL          string
	subscriptionKey string
	blobEndpoints   []string
	maxPerOrigin    int
}

// applyProviderPreset fills what a cloud provider's preset provides and the user did not
// set. Earthdata credentials are found here: the auth keys, else the .netrc entry of
// the token host, else $EARTHDATA_TOKEN, else $EARTHDATA_USERNAME and
// $EARTHDATA_PASSWORD (earthaccess's conventions).
func (cat *CatalogConfig) applyProviderPreset(key string, p providerPreset) error {
	a := cat.presetAuth(p.authType, p.tokenURL, p.clientID, p.hosts)
	if cat.URL == "" {
		if p.url == "" {
			return fmt.Errorf("key %q: missing: %s", key+".url", p.urlHint)
		}
		cat.URL = p.url
	}
	a.SASURL = cmp.Or(a.SASURL, p.sasURL)
	if cat.S3 != nil && p.s3Endpoint != "" {
		// With the user's S3 keys, s3:// hrefs are read from the provider's endpoint
		// (path-style) rather than from the https alternates.
		cat.S3.Endpoint = cmp.Or(cat.S3.Endpoint, p.s3Endpoint)
		cat.S3.Region = cmp.Or(cat.S3.Region, p.s3Region)
	}
	if cat.Preset == presetEarthdata && a.Type == "" {
		return cat.earthdataCredentials(key)
	}
	return nil
}

// earthdataCredentials chooses the Earthdata auth type from the credentials at hand.
func (cat *CatalogConfig) earthdataCredentials(key string) error {
	a := cat.Auth
	switch {
	case a.Token != "" || a.TokenEnv != "" || a.TokenFile != "":
		a.Type = "bearer"
		return nil
	case a.Password != "" || a.PasswordEnv != "" || a.PasswordFile != "":
		a.Type = remote.AuthEDL
		return nil
	}
	path := expandHome(a.Netrc)
	if path == "" {
		path = os.Getenv("NETRC")
	}
	if path == "" {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, ".netrc")
		}
	}
	host := ""
	if u, err := url.Parse(a.TokenURL); err == nil {
		host = u.Hostname()
	}
	if path != "" {
		n, err := netrc.Parse(path)
		switch {
		case err == nil:
			if m := n.Machine(host); m != nil && m.Get("password") != "" {
				a.Type = remote.AuthEDL
				if a.Username == "" && a.UsernameEnv == "" && a.UsernameFile == "" {
					a.Username = m.Get("login")
				}
				a.Password, cat.netrcPath = m.Get("password"), path
				return nil
			}
		case a.Netrc != "" || !os.IsNotExist(err):
			return fmt.Errorf("key %q: %s: %w", key+".auth.netrc", path, err)
		}
	}
	if os.Getenv("EARTHDATA_TOKEN") != "" {
		a.Type, a.TokenEnv = "bearer", "EARTHDATA_TOKEN"
		return nil
	}
	if os.Getenv("EARTHDATA_USERNAME") != "" && os.Getenv("EARTHDATA_PASSWORD") != "" {
		a.Type, a.UsernameEnv, a.PasswordEnv = remote.AuthEDL, "EARTHDATA_USERNAME", "EARTHDATA_PASSWORD"
		return nil
	}
	return fmt.Errorf("key %q: no Earthdata Login credentials: put \"machine %s login USER password PASS\" in %s, or set token_env (an EDL user token), or username and password_env",
		key+".auth", host, path)
}

// resolveProvider reads the provider keys after resolveAuth (cfgPath is the config
// file): the TOTP, the subscription key, and what the client and the reader need.
func (cat *CatalogConfig) resolveProvider(key, cfgPath string) error {
	a := cat.Auth
	if a == nil {
		return nil
	}
	k := key + ".auth"
	if cat.netrcPath != "" {
		// The password came from .netrc, not from the config file.
		files := cat.auth.secretFiles[:0]
		for _, f := range cat.auth.secretFiles {
			if f != cfgPath {
				files = append(files, f)
			}
		}
		cat.auth.secretFiles = append(files, cat.netrcPath)
	}
	totp, err := secretValue(k, "totp", a.TOTP, a.TOTPEnv, a.TOTPFile, &cat.auth.secretFiles)
	if err != nil {
		return err
	}
	if totp != "" && cat.auth.cfg.Type != "password" {
		return fmt.Errorf("key %q: a TOTP goes with the password grant only (auth type %q)", k+".totp", cat.auth.cfg.Type)
	}
	cat.auth.cfg.TOTP = totp
	subKey, err := secretValue(k, "subscription_key", a.SubscriptionKey, a.SubscriptionKeyEnv, a.SubscriptionKeyFile, &cat.auth.secretFiles)
	if err != nil {
		return err
	}
	if subKey == "" && cat.Preset == presetPC {
		subKey = os.Getenv("PC_SDK_SUBSCRIPTION_KEY") // as the Planetary Computer SDK
	}
	if a.SASURL != "" {
		if u, err := url.Parse(a.SASURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("key %q: %q is not an http(s) URL", k+".sas_url", a.SASURL)
		}
	}
	if subKey != "" && a.SASURL == "" {
		return fmt.Errorf("key %q: a subscription key goes with a SAS API: set %q", k+".subscription_key", k+".sas_url")
	}
	for _, e := range a.BlobEndpoints {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return fmt.Errorf("key %q: %q is not an http(s) origin (scheme://host:port)", k+".blob_endpoints", e)
		}
	}
	cat.prov = providerSetup{preset: cat.Preset, sasURL: a.SASURL, subscriptionKey: subKey, blobEndpoints: a.BlobEndpoints,
		maxPerOrigin: providerPresets[cat.Preset].maxPerOrigin}
	return nil
}

// secretValue reads a secret given directly, by KEY_env or by KEY_file ("" when none).
func secretValue(k, name, direct, env, file string, files *[]string) (string, error) {
	switch {
	case direct != "":
		return direct, nil
	case env != "":
		v := os.Getenv(env)
		if v == "" {
			return "", fmt.Errorf("key %q: environment variable %s is not set", k+"."+name+"_env", env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(expandHome(file))
		if err != nil {
			return "", fmt.Errorf("key %q: %w", k+"."+name+"_file", err)
		}
		*files = append(*files, expandHome(file))
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// tuneClient applies the provider's limits to the catalog's client (CDSE allows 4
// concurrent connections per user).
func (p providerSetup) tuneClient(c *remote.Client) {
	if p.maxPerOrigin > 0 && (c.MaxPerOrigin == 0 || c.MaxPerOrigin > p.maxPerOrigin) {
		c.MaxPerOrigin = p.maxPerOrigin
	}
}

// assetReader returns what reads the catalog's asset bytes: the client itself, or the
// client behind the provider's signer (Planetary Computer SAS tokens, Earthdata's
// presigned redirects).
func assetReader(cc *CatalogConfig, client *remote.Client, log *slog.Logger) *remote.SignedReader {
	log = log.With("catalog", cc.name)
	switch {
	case cc.prov.sasURL != "":
		return &remote.SignedReader{Client: client, Signer: &remote.SAS{APIURL: cc.prov.sasURL,
			SubscriptionKey: cc.prov.subscriptionKey, Endpoints: cc.prov.blobEndpoints, HTTP: remote.NewHTTPClient(), Logger: log}}
	case cc.prov.preset == presetEarthdata && client.Auth != nil:
		return &remote.SignedReader{Client: client, Signer: &remote.Redirects{Client: client, Logger: log}}
	}
	return &remote.SignedReader{Client: client}
}
