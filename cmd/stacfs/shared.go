package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/remote"
)

// SharedConfig is the [cache.shared] table: a cache tier on Redis or
// Valkey shared by the mounts of a fleet (see cache.Shared).
type SharedConfig struct {
	URL          string   `toml:"url"`           // redis://, rediss://, redis+cluster://; master_name=... for Sentinel
	PasswordEnv  string   `toml:"password_env"`  // environment variable holding the password
	PasswordFile string   `toml:"password_file"` // file holding the password
	TTL          Duration `toml:"ttl"`           // how long a unit lives in Redis (default 24h)
	KeyPrefix    string   `toml:"key_prefix"`    // start of every key (default "stacfs:")
	// ShareProtected stores the data and metadata of catalogs with
	// credentials too (auth or headers): anyone who can read the keys can
	// read those bytes. Off by default.
	ShareProtected bool     `toml:"share_protected"`
	Unit           Size     `toml:"unit"`       // bytes of one stored unit (default and least 256KiB)
	Timeout        Duration `toml:"timeout"`    // bound of one call to Redis (default 50ms)
	LeaseWait      Duration `toml:"lease_wait"` // longest wait for another node's fetch (default 10s)

	password string // from password_env or password_file
}

// check checks the table and reads the password (nil: no table).
func (s *SharedConfig) check() error {
	if s == nil {
		return nil
	}
	const key = "cache.shared"
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		return fmt.Errorf("key %q: missing", key+".url")
	case err != nil || u.Host == "":
		return fmt.Errorf("key %q: %q is not a URL (want redis://host:6379/0)", key+".url", cache.RedactRedisURL(s.URL))
	case !strings.HasPrefix(u.Scheme, "redis"):
		return fmt.Errorf("key %q: scheme %q (want redis, rediss, redis+cluster or rediss+cluster)", key+".url", u.Scheme)
	case s.PasswordEnv != "" && s.PasswordFile != "":
		return fmt.Errorf("keys %q and %q: set one", key+".password_env", key+".password_file")
	case s.TTL.Duration < 0 || s.Timeout.Duration < 0 || s.LeaseWait.Duration < 0:
		return fmt.Errorf("keys %q, %q, %q: negative duration", key+".ttl", key+".timeout", key+".lease_wait")
	case s.Unit != 0 && s.Unit < cache.MinSharedUnit:
		return fmt.Errorf("key %q: %q is below 256KiB", key+".unit", s.Unit)
	}
	switch {
	case s.PasswordEnv != "":
		v, ok := os.LookupEnv(s.PasswordEnv)
		if !ok || v == "" {
			return fmt.Errorf("key %q: environment variable %s is not set", key+".password_env", s.PasswordEnv)
		}
		s.password = v
	case s.PasswordFile != "":
		b, err := os.ReadFile(expandHome(s.PasswordFile))
		if err != nil {
			return fmt.Errorf("key %q: %w", key+".password_file", err)
		}
		s.password = strings.TrimSpace(string(b))
	}
	return nil
}

// openShared connects the shared tier of cfg, or returns nil without one.
// An unreachable server is logged, not fatal: reads go to the providers.
func openShared(cfg *Config, log *slog.Logger) (*cache.Shared, error) {
	s := cfg.Cache.Shared
	if s == nil {
		return nil, nil
	}
	sh, err := cache.NewShared(cache.SharedOptions{
		URL: s.URL, Password: s.password, TTL: s.TTL.Duration, KeyPrefix: s.KeyPrefix,
		Unit: int64(s.Unit), CallTimeout: s.Timeout.Duration, LeaseWait: s.LeaseWait.Duration, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("config %s: key %q: %w", cfg.path, "cache.shared.url", err)
	}
	return sh, nil
}

// protected reports whether a catalog's data needs credentials: an auth
// type, configured headers (an API key) or signed asset URLs (a SAS API).
func (cc *CatalogConfig) protected() bool {
	return (cc.auth.cfg.Type != "" && cc.auth.cfg.Type != "none") || len(cc.Headers) > 0 || cc.prov.sasURL != ""
}

// shares reports whether the shared tier may hold a catalog's data and
// metadata.
func shares(cfg *Config, cc *CatalogConfig) bool {
	s := cfg.Cache.Shared
	return s != nil && (!cc.protected() || s.ShareProtected)
}

// shareMetadata routes a catalog's requests through the shared tier's
// Transport (searches, items, collections, asset probes), keyed by the
// unsigned URL and kept for the metadata TTL.
func shareMetadata(cfg *Config, cc *CatalogConfig, client *remote.Client, sh *cache.Shared) {
	if sh == nil || !shares(cfg, cc) || client.HTTP == nil {
		return
	}
	next := client.HTTP.Transport
	if next == nil {
		return
	}
	hc := *client.HTTP
	hc.Transport = sh.Transport(next, cache.TransportOptions{
		TTL: cfg.Cache.MetadataTTL.Duration, Key: remote.UnsignedURL, AllowAuth: cfg.Cache.Shared.ShareProtected,
	})
	client.HTTP = &hc
}

// checkShared checks the shared tier of cfg, if any (stacfs check).
func checkShared(ctx context.Context, cfg *Config, r *checkReport) {
	s := cfg.Cache.Shared
	if s == nil {
		return
	}
	subject := "shared cache " + cache.RedactRedisURL(s.URL)
	sh, err := openShared(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		r.fail(subject, "connect", err)
		return
	}
	defer sh.Close()
	err = step(ctx, func(ctx context.Context) error {
		took, err := sh.Check(ctx)
		if err == nil {
			r.pass(subject, "PING, SET, GET and DEL in %v", took.Round(100*time.Microsecond))
		}
		return err
	})
	if err != nil {
		r.fail(subject, "round trip", err)
	}
}
