package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the TOML config file (see config.toml.example for every key).
type Config struct {
	Cache    CacheConfig               `toml:"cache"`
	Mount    MountConfig               `toml:"mount"`
	Network  NetworkConfig             `toml:"network"`
	Catalogs map[string]*CatalogConfig `toml:"catalogs"`

	// Derived and checked by Load.
	path        string
	memory      int64
	blockSize   int64
	metadataTTL time.Duration
	readAhead   int64
	diskBytes   int64
	retryBudget time.Duration
	stall       time.Duration
	metricsAddr string // --metrics, not a config key
}

// CacheConfig is the [cache] table.
type CacheConfig struct {
	Memory      string `toml:"memory"`       // block cache budget in RAM, e.g. "512MiB"
	BlockSize   string `toml:"block_size"`   // block size, e.g. "128KiB"
	MetadataTTL string `toml:"metadata_ttl"` // how long listings and sizes are cached, e.g. "5m"
	ReadAhead   string `toml:"read_ahead"`   // most a sequential reader prefetches, e.g. "32MiB"; "0" turns it off
	Dir         string `toml:"dir"`          // persistent disk tier folder ("" = off)
	Disk        string `toml:"disk"`         // disk tier budget, e.g. "10GiB"
}

// MountConfig is the [mount] table.
type MountConfig struct {
	// AllowOther lets other users see the mount (with default_permissions,
	// so file modes apply). Off by default: the mount is private.
	AllowOther bool `toml:"allow_other"`
}

// NetworkConfig is the [network] table.
type NetworkConfig struct {
	RetryBudget  string `toml:"retry_budget"`   // total time one operation may take, retries included, e.g. "30s"
	StallTimeout string `toml:"stall_timeout"`  // abandon a transfer that sends nothing this long, e.g. "20s"
	MaxPerOrigin int    `toml:"max_per_origin"` // concurrent requests per origin
}

// CatalogConfig is a [catalogs.NAME] table.
type CatalogConfig struct {
	Preset      string                 `toml:"preset"`
	URL         string                 `toml:"url"`
	Collections []string               `toml:"collections"`
	Headers     map[string]string      `toml:"headers"`
	Auth        *AuthConfig            `toml:"auth"`
	Views       map[string]*ViewConfig `toml:"views"`

	name string
	auth resolvedAuth // filled by check
}

// Defaults for keys that are not set.
const (
	defaultMemory      = 512 << 20
	defaultBlockSize   = 16 << 10
	defaultMetadataTTL = 5 * time.Minute
)

// DefaultConfigPath is $STACFS_CONFIG, else ~/.config/stacfs/config.toml.
func DefaultConfigPath() string {
	if p := os.Getenv("STACFS_CONFIG"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".config", "stacfs", "config.toml")
	}
	return filepath.Join(home, ".config", "stacfs", "config.toml")
}

// LoadConfig reads and checks a config file. Every error names the file and,
// where there is one, the key.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(path, string(data))
}

// ParseConfig parses config text; path is used in messages.
func ParseConfig(path, text string) (*Config, error) {
	var c Config
	md, err := toml.Decode(text, &c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("config %s: line %d: %s", path, perr.Position.Line, perr.Message)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var keys []string
	for _, k := range md.Undecoded() {
		if !freeformKey(k) {
			keys = append(keys, k.String())
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		return nil, fmt.Errorf("config %s: unknown key %q", path, keys[0])
	}
	c.path = path
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

func (c *Config) check() error {
	var err error
	if c.memory, err = parseSize("cache.memory", c.Cache.Memory, defaultMemory); err != nil {
		return err
	}
	if c.memory < 4<<20 {
		return fmt.Errorf("key %q: %q is too small (at least 4MiB)", "cache.memory", c.Cache.Memory)
	}
	if c.blockSize, err = parseSize("cache.block_size", c.Cache.BlockSize, defaultBlockSize); err != nil {
		return err
	}
	if c.blockSize < 4<<10 || c.blockSize > 16<<20 {
		return fmt.Errorf("key %q: %q is out of range (4KiB to 16MiB)", "cache.block_size", c.Cache.BlockSize)
	}
	if c.metadataTTL, err = parseDuration("cache.metadata_ttl", c.Cache.MetadataTTL, defaultMetadataTTL); err != nil {
		return err
	}
	if c.readAhead, err = parseSize("cache.read_ahead", c.Cache.ReadAhead, 64<<20); err != nil {
		return err
	}
	if c.diskBytes, err = parseSize("cache.disk", c.Cache.Disk, 10<<30); err != nil {
		return err
	}
	if c.retryBudget, err = parseDuration("network.retry_budget", c.Network.RetryBudget, 30*time.Second); err != nil {
		return err
	}
	if c.stall, err = parseDuration("network.stall_timeout", c.Network.StallTimeout, 20*time.Second); err != nil {
		return err
	}
	if c.retryBudget == 0 || c.stall == 0 {
		return fmt.Errorf("keys %q and %q must be more than 0", "network.retry_budget", "network.stall_timeout")
	}
	if c.Network.MaxPerOrigin < 0 || c.Network.MaxPerOrigin > 1024 {
		return fmt.Errorf("key %q: %d is out of range (1 to 1024)", "network.max_per_origin", c.Network.MaxPerOrigin)
	}
	if c.Cache.Disk != "" && c.Cache.Dir == "" {
		return fmt.Errorf("key %q: set %q too, the folder of the disk tier", "cache.disk", "cache.dir")
	}
	c.Cache.Dir = expandHome(c.Cache.Dir)
	if len(c.Catalogs) == 0 {
		return fmt.Errorf("no catalogs: add a [catalogs.NAME] table with a url")
	}
	for name, cat := range c.Catalogs {
		key := "catalogs." + name
		if cat == nil {
			return fmt.Errorf("key %q: empty table", key)
		}
		cat.name = name
		if !validName(name) {
			return fmt.Errorf("key %q: a catalog name must be a usable folder name (letters, digits, '-', '_', '.')", key)
		}
		if err := cat.applyPreset(key); err != nil {
			return err
		}
		if err := cat.resolveAuth(key, c.path); err != nil {
			return err
		}
		if cat.URL == "" {
			return fmt.Errorf("key %q: missing", key+".url")
		}
		u, err := url.Parse(cat.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("key %q: %q is not an http(s) URL", key+".url", cat.URL)
		}
		for i, col := range cat.Collections {
			if col == "" {
				return fmt.Errorf("key %q: entry %d is empty", key+".collections", i+1)
			}
		}
		for h := range cat.Headers {
			if !headerName.MatchString(h) {
				return fmt.Errorf("key %q: %q is not a valid header name", key+".headers", h)
			}
		}
		if err := cat.checkViews(key); err != nil {
			return err
		}
	}
	return nil
}

var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Catalog returns the catalog called name.
func (c *Config) Catalog(name string) (*CatalogConfig, error) {
	cat, ok := c.Catalogs[name]
	if !ok {
		return nil, fmt.Errorf("config %s: no catalog %q (have: %s)", c.path, name, strings.Join(c.CatalogNames(), ", "))
	}
	return cat, nil
}

// CatalogNames returns the configured catalog names, sorted.
func (c *Config) CatalogNames() []string {
	names := make([]string, 0, len(c.Catalogs))
	for n := range c.Catalogs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var sizeRe = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B?|B)?\s*$`)

// parseSize reads sizes such as "512MiB", "1GB", "4096".
func parseSize(key, s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	m := sizeRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("key %q: %q is not a size (e.g. \"512MiB\")", key, s)
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{
		"": 1, "B": 1,
		"K": 1 << 10, "KiB": 1 << 10, "Ki": 1 << 10, "KB": 1e3,
		"M": 1 << 20, "MiB": 1 << 20, "Mi": 1 << 20, "MB": 1e6,
		"G": 1 << 30, "GiB": 1 << 30, "Gi": 1 << 30, "GB": 1e9,
		"T": 1 << 40, "TiB": 1 << 40, "Ti": 1 << 40, "TB": 1e12,
	}[m[2]]
	return int64(f * mult), nil
}

func parseDuration(key, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("key %q: %q is not a duration (e.g. \"5m\")", key, s)
	}
	return d, nil
}
