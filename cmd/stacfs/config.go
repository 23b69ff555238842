package main

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
)

// Config is the TOML config file (see config.toml.example for every key).
// ParseConfig decodes it over defaultConfig, so a key not set keeps its default.
type Config struct {
	Cache    CacheConfig               `toml:"cache"`
	Mount    MountConfig               `toml:"mount"`
	Network  NetworkConfig             `toml:"network"`
	Catalogs map[string]*CatalogConfig `toml:"catalogs"`

	path         string
	metricsAddr  string        // --metrics, not a config key
	startTimeout time.Duration // --start-timeout, not a config key
}

// catalogErrors are the problems of catalogs whose tables cannot be used
// (each also in its CatalogConfig.err), in a config that is otherwise
// usable: ParseConfig returns it with the config, so that mount can show
// those catalogs as broken folders and check can report every problem.
type catalogErrors []error

func (e catalogErrors) Error() string { return errors.Join(e...).Error() }

func (e catalogErrors) Unwrap() []error { return e }

// CacheConfig is the [cache] table.
type CacheConfig struct {
	Memory      Size          `toml:"memory"`       // block cache budget in RAM
	BlockSize   Size          `toml:"block_size"`   // block size
	MetadataTTL Duration      `toml:"metadata_ttl"` // how long listings and sizes are cached
	ReadAhead   Size          `toml:"read_ahead"`   // most a sequential reader prefetches; 0 turns it off
	Dir         string        `toml:"dir"`          // persistent disk tier folder ("" = off)
	Disk        Size          `toml:"disk"`         // disk tier budget
	Shared      *SharedConfig `toml:"shared"`       // tier shared by a fleet (shared.go)
	// StreamStatLimit is the most of a stream (no length, no Range) read
	// to learn its size on stat; 0: never (size 0 until read whole).
	StreamStatLimit Size `toml:"stream_stat_limit"`
}

// MountConfig is the [mount] table. Owners and modes are spelled as
// rclone, gcsfuse and s3fs spell them.
type MountConfig struct {
	// AllowOther lets other users see the mount (with default_permissions,
	// so file modes apply). Off by default: the mount is private.
	AllowOther bool `toml:"allow_other"`
	// AllowRoot lets root see the mount too.
	AllowRoot bool `toml:"allow_root"`
	// UID and GID own every file and folder (default: the user who mounts).
	UID *int64 `toml:"uid"`
	GID *int64 `toml:"gid"`
	// Umask clears bits of the default modes (0444 files, 0555 folders);
	// FileMode and DirMode set them outright.
	Umask    *Mode `toml:"umask"`
	FileMode Mode  `toml:"file_mode"`
	DirMode  Mode  `toml:"dir_mode"`
	// AllowNonEmpty mounts over a folder that holds files (hidden while
	// mounted); by default such a mount is refused, as rclone does.
	AllowNonEmpty bool `toml:"allow_non_empty"`
}

// modes returns the permission bits of files and folders.
func (m MountConfig) modes() (file, dir uint32) {
	file, dir = 0o444, 0o555
	if m.Umask != nil {
		file, dir = file&^uint32(*m.Umask), dir&^uint32(*m.Umask)
	}
	if m.FileMode != 0 {
		file = uint32(m.FileMode)
	}
	if m.DirMode != 0 {
		dir = uint32(m.DirMode)
	}
	return file, dir
}

// NetworkConfig is the [network] table.
type NetworkConfig struct {
	RetryBudget  Duration `toml:"retry_budget"`   // total time one operation may take, retries included
	StallTimeout Duration `toml:"stall_timeout"`  // abandon a transfer that sends nothing this long
	MaxPerOrigin int      `toml:"max_per_origin"` // concurrent requests per origin
}

// CatalogConfig is a [catalogs.NAME] table.
type CatalogConfig struct {
	Preset      string                 `toml:"preset"`
	URL         string                 `toml:"url"`
	Collections []string               `toml:"collections"`
	Headers     map[string]string      `toml:"headers"`
	Auth        *AuthConfig            `toml:"auth"`
	Views       map[string]*ViewConfig `toml:"views"`
	Prefer      []string               `toml:"prefer"` // href schemes in order (s3config.go)
	S3          *S3Config              `toml:"s3"`
	// MaxItems bounds the items of one day folder (0: no limit); a day over
	// it fails to list (ENOMEM), it is never cut short.
	MaxItems int `toml:"max_items"`
	// ListedItems bounds the items of the day listings kept cached (0:
	// catalog.DefaultListedItems); listing a day evicts older days beyond.
	ListedItems int `toml:"listed_items"`

	name      string
	auth      resolvedAuth  // filled by check
	prov      providerSetup // filled by check (providers.go)
	netrcPath string        // the .netrc that gave the password, if any
	err       error         // why the table cannot be used, from check
}

// defaultConfig holds the value of every key that is not set: the defaults
// of the packages that use them.
func defaultConfig() Config {
	return Config{
		Cache: CacheConfig{
			Memory:      Size(cache.DefaultMemory),
			BlockSize:   Size(cache.DefaultBlockSize),
			MetadataTTL: Duration{catalog.DefaultTTL},
			ReadAhead:   Size(cache.DefaultMaxReadAhead),
			Disk:        Size(cache.DefaultDiskBytes),

			StreamStatLimit: Size(catalog.DefaultStreamStatLimit),
		},
		Network: NetworkConfig{
			RetryBudget:  Duration{remote.DefaultRetryBudget},
			StallTimeout: Duration{remote.DefaultStallTimeout},
			MaxPerOrigin: remote.DefaultMaxPerOrigin,
		},
	}
}

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
	return parseConfig(path, text, true)
}

// parseConfig is ParseConfig; without needCatalogs a file with no
// catalogs is fine (its settings serve a catalog given on the command
// line).
func parseConfig(path, text string, needCatalogs bool) (*Config, error) {
	c := defaultConfig()
	md, err := toml.Decode(text, &c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			if perr.LastKey != "" {
				return nil, fmt.Errorf("config %s: line %d: key %q: %s", path, perr.Position.Line, perr.LastKey, perr.Message)
			}
			return nil, fmt.Errorf("config %s: line %d: %s", path, perr.Position.Line, perr.Message)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var unknown []toml.Key
	for _, k := range md.Undecoded() {
		if !freeformKey(k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Slice(unknown, func(i, j int) bool { return unknown[i].String() < unknown[j].String() })
		k := unknown[0]
		if s := suggestKey(k); s != "" {
			return nil, fmt.Errorf("config %s: unknown key %q (did you mean %q?)", path, k.String(), s)
		}
		return nil, fmt.Errorf("config %s: unknown key %q", path, k.String())
	}
	c.path = path
	if md.IsDefined("cache", "disk") && c.Cache.Dir == "" {
		return nil, fmt.Errorf("config %s: key %q: set %q too, the folder of the disk tier", path, "cache.disk", "cache.dir")
	}
	if err := c.check(needCatalogs); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var errs catalogErrors
	for _, name := range c.CatalogNames() {
		cat := c.Catalogs[name]
		if err := c.checkCatalog(name, cat); err != nil {
			cat.err = fmt.Errorf("config %s: %w", path, err)
			errs = append(errs, cat.err)
		}
	}
	if len(errs) > 0 {
		return &c, errs
	}
	return &c, nil
}

// check checks the values and, with needCatalogs, that there are catalogs
// (ParseConfig checks each catalog apart).
func (c *Config) check(needCatalogs bool) error {
	if err := c.checkValues(); err != nil {
		return err
	}
	if err := c.Cache.Shared.check(); err != nil {
		return err
	}
	if needCatalogs && len(c.Catalogs) == 0 {
		return fmt.Errorf("no catalogs: add a [catalogs.NAME] table with a url (or mount one with --url or --preset)")
	}
	return nil
}

// checkValues checks the ranges of the cache and network keys, whether
// they come from the file or from flags that override it.
func (c *Config) checkValues() error {
	if c.Cache.Memory < 4<<20 {
		return fmt.Errorf("key %q: %q is too small (at least 4MiB)", "cache.memory", c.Cache.Memory)
	}
	if c.Cache.BlockSize < 4<<10 || c.Cache.BlockSize > 16<<20 {
		return fmt.Errorf("key %q: %q is out of range (4KiB to 16MiB)", "cache.block_size", c.Cache.BlockSize)
	}
	if c.Network.RetryBudget.Duration == 0 || c.Network.StallTimeout.Duration == 0 {
		return fmt.Errorf("keys %q and %q must be more than 0", "network.retry_budget", "network.stall_timeout")
	}
	for key, id := range map[string]*int64{"mount.uid": c.Mount.UID, "mount.gid": c.Mount.GID} {
		if id != nil && (*id < 0 || *id > 1<<32-2) {
			return fmt.Errorf("key %q: %d is not a user or group id", key, *id)
		}
	}
	if c.Network.MaxPerOrigin < 0 || c.Network.MaxPerOrigin > 1024 {
		return fmt.Errorf("key %q: %d is out of range (1 to 1024)", "network.max_per_origin", c.Network.MaxPerOrigin)
	}
	c.Cache.Dir = expandHome(c.Cache.Dir)
	return nil
}

// checkCatalog checks one [catalogs.NAME] table and resolves its preset and
// credentials.
func (c *Config) checkCatalog(name string, cat *CatalogConfig) error {
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
	if err := cat.resolveProvider(key, c.path); err != nil {
		return err
	}
	if err := cat.checkS3(key); err != nil {
		return err
	}
	if cat.URL == "" {
		return fmt.Errorf("key %q: missing", key+".url")
	}
	if cat.MaxItems < 0 {
		return fmt.Errorf("key %q: %d is negative (0: no limit)", key+".max_items", cat.MaxItems)
	}
	if cat.ListedItems < 0 {
		return fmt.Errorf("key %q: %d is negative (0: the default)", key+".listed_items", cat.ListedItems)
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
	return cat.checkViews(key)
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

// Catalog returns the catalog called name, or why it cannot be used.
func (c *Config) Catalog(name string) (*CatalogConfig, error) {
	cat, ok := c.Catalogs[name]
	if !ok {
		return nil, fmt.Errorf("config %s: no catalog %q (have: %s)", c.path, name, strings.Join(c.CatalogNames(), ", "))
	}
	if cat != nil && cat.err != nil {
		return nil, cat.err
	}
	return cat, nil
}

// CatalogNames returns the configured catalog names, sorted.
func (c *Config) CatalogNames() []string {
	return slices.Sorted(maps.Keys(c.Catalogs))
}
