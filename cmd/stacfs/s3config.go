package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/stacfs/stacfs/remote"
)

// S3Config is a [catalogs.NAME.s3] table: how the catalog's s3:// hrefs are read (with the
// AWS SDK's default credentials unless keys, a profile or anonymous say otherwise). A
// preset may fill Endpoint and Region of a table the user wrote (CDSE: eodata's endpoint,
// region "default") before checkS3 resolves it into a remote.S3Config.
type S3Config struct {
	RequesterPays      bool   `toml:"requester_pays"`        // sign x-amz-request-payer: requester (the user pays)
	Region             string `toml:"region"`                // "" = each bucket's own region
	Endpoint           string `toml:"endpoint"`              // an S3-compatible store (path-style)
	Profile            string `toml:"profile"`               // shared config profile
	AccessKeyIDEnv     string `toml:"access_key_id_env"`     // static keys from the environment
	SecretAccessKeyEnv string `toml:"secret_access_key_env"` //
	SessionTokenEnv    string `toml:"session_token_env"`     // optional, with the static keys
	Anonymous          bool   `toml:"anonymous"`             // never sign

	resolved remote.S3Config // filled by checkS3
}

// hrefSchemes are the schemes a catalog's prefer key may name.
var hrefSchemes = map[string]bool{"https": true, "http": true, "s3": true, "gs": true}

// checkS3 checks the catalog's prefer key and [s3] table and reads the keys they name from
// the environment.
func (cat *CatalogConfig) checkS3(key string) error {
	for i, p := range cat.Prefer {
		if !hrefSchemes[strings.ToLower(p)] {
			return fmt.Errorf("key %q: entry %d %q is not one of https, http, s3, gs", key+".prefer", i+1, p)
		}
	}
	s := cat.S3
	if s == nil {
		return nil
	}
	k := key + ".s3"
	r := remote.S3Config{RequesterPays: s.RequesterPays, Region: s.Region, Endpoint: s.Endpoint, Profile: s.Profile, Anonymous: s.Anonymous}
	if s.Endpoint != "" {
		u, err := url.Parse(s.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("key %q: %q is not an http(s) endpoint (scheme://host[:port])", k+".endpoint", s.Endpoint)
		}
		r.Endpoint = strings.TrimSuffix(s.Endpoint, "/")
	}
	if (s.AccessKeyIDEnv == "") != (s.SecretAccessKeyEnv == "") {
		return fmt.Errorf("key %q: set both access_key_id_env and secret_access_key_env, or neither", k)
	}
	if s.SessionTokenEnv != "" && s.AccessKeyIDEnv == "" {
		return fmt.Errorf("key %q: a session token goes with access_key_id_env and secret_access_key_env", k+".session_token_env")
	}
	for _, f := range []struct {
		name, env string
		dst       *string
	}{
		{"access_key_id_env", s.AccessKeyIDEnv, &r.AccessKeyID},
		{"secret_access_key_env", s.SecretAccessKeyEnv, &r.SecretAccessKey},
		{"session_token_env", s.SessionTokenEnv, &r.SessionToken},
	} {
		if f.env == "" {
			continue
		}
		v, ok := os.LookupEnv(f.env)
		if !ok || strings.TrimSpace(v) == "" {
			return fmt.Errorf("key %q: environment variable %s is not set", k+"."+f.name, f.env)
		}
		*f.dst = strings.TrimSpace(v)
	}
	switch {
	case s.Anonymous && s.RequesterPays:
		return fmt.Errorf("key %q: requester_pays needs signed requests, anonymous = true never signs", k+".anonymous")
	case s.Anonymous && (s.Profile != "" || s.AccessKeyIDEnv != ""):
		return fmt.Errorf("key %q: anonymous = true uses no credentials: remove profile and the key variables", k+".anonymous")
	case s.Profile != "" && s.AccessKeyIDEnv != "":
		return fmt.Errorf("key %q: set a profile or static keys, not both", k+".profile")
	}
	s.resolved = r
	return nil
}

// s3Config is how the catalog reads s3:// hrefs.
func (cat *CatalogConfig) s3Config() remote.S3Config {
	if cat.S3 == nil {
		return remote.S3Config{}
	}
	return cat.S3.resolved
}

// hrefPrefer is the order of href schemes the catalog reads from: the prefer key, else
// the asset's own href for a catalog with an [s3] table, else http(s) before s3:// (so a
// catalog whose s3:// hrefs name private buckets keeps reading its https alternates).
func (cat *CatalogConfig) hrefPrefer() []string {
	switch {
	case len(cat.Prefer) > 0:
		return cat.Prefer
	case cat.S3 != nil:
		return nil
	}
	return []string{"https", "s3", "gs"}
}

// objects is what the catalog reads asset bytes through: rd for http(s) (client through
// the provider's signer), the AWS SDK for s3://, anonymous https for gs://.
func (cat *CatalogConfig) objects(client *remote.Client, rd remote.ObjectReader) *remote.Objects {
	return remote.NewObjects(client, rd, remote.NewS3(cat.s3Config(), client), cat.hrefPrefer())
}

// printS3 prints the https URL stacfs reads an s3:// href from (stacfs token --href):
// presigned for a quarter of an hour with the catalog's AWS credentials, or plain when
// they are read unsigned.
func printS3(ctx context.Context, cc *CatalogConfig, client *remote.Client, href string, stdout io.Writer) error {
	u, h, err := remote.NewS3(cc.s3Config(), client).Request(ctx, href)
	if err != nil {
		return fmt.Errorf("catalog %q: %w", cc.name, err)
	}
	if len(h) > 0 {
		return fmt.Errorf("catalog %q: %s needs signed headers besides its URL: it cannot be pasted elsewhere", cc.name, remote.RedactURL(href))
	}
	fmt.Fprintln(stdout, u)
	return nil
}
