package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// catalogChoice is which catalog a command works on: a [catalogs.NAME]
// table of the config (--catalog), or one given on the command line
// (--url, --preset), which needs no config file at all: a new user mounts
// a public catalog with one command, as gcsfuse mounts a bucket.
type catalogChoice struct {
	name, url, preset string
	collections       []string
	fl                *pflag.FlagSet
}

// register adds --catalog (described by what), --url, --preset and
// --collections to fl.
func (c *catalogChoice) register(fl *pflag.FlagSet, what string) {
	c.fl = fl
	fl.StringVar(&c.name, "catalog", "", what)
	fl.StringVar(&c.url, "url", "", "a STAC API `URL` to use without a config table (a provider's URL takes its preset)")
	fl.StringVar(&c.preset, "preset", "", "a provider `NAME` to use without a config table: "+strings.Join(presetNames(), ", "))
	fl.StringSliceVar(&c.collections, "collections", nil, "only these collection `IDS` (comma-separated), as the catalog's collections key")
}

// adHoc reports whether the catalog is given on the command line.
func (c *catalogChoice) adHoc() bool { return c.url != "" || c.preset != "" }

// load loads the config at path and returns it with the name of the one
// catalog chosen ("": every catalog of the file). A catalog given on the
// command line is added to the file's settings ([cache], [network],
// [mount]), or to the defaults when there is no file and none was named
// (explicit: --config or $STACFS_CONFIG).
func (c *catalogChoice) load(path string, explicit bool) (*Config, string, error) {
	if c.name != "" && c.adHoc() {
		return nil, "", fmt.Errorf("%w: --catalog names a config table; --url and --preset replace one: give one of them", errUsage)
	}
	if !c.adHoc() {
		if c.name == "" && c.fl.Changed("collections") {
			return nil, "", fmt.Errorf("%w: --collections: give the catalog too (--catalog, --url or --preset)", errUsage)
		}
		cfg, err := loadUsable(path, c.name)
		if err != nil {
			return nil, "", withConfigHint(err, path, explicit)
		}
		if c.name == "" {
			return cfg, "", nil
		}
		cc, err := cfg.Catalog(c.name)
		if err != nil {
			return nil, "", err
		}
		if c.fl.Changed("collections") {
			cc.Collections = c.collections
		}
		return cfg, c.name, nil
	}
	cfg, err := loadSettings(path, explicit)
	if err != nil {
		return nil, "", err
	}
	name, cc, err := c.table()
	if err != nil {
		return nil, "", err
	}
	if cfg.Catalogs == nil {
		cfg.Catalogs = map[string]*CatalogConfig{}
	}
	cfg.Catalogs[name] = cc // the command line's catalog wins over a table of that name
	if err := cfg.checkCatalog(name, cc); err != nil {
		return nil, "", fmt.Errorf("%s: %w", c.flagText(), err)
	}
	return cfg, name, nil
}

// table is the [catalogs.NAME] table that --url and --preset stand for,
// and its name: the preset's, else the URL's host.
func (c *catalogChoice) table() (string, *CatalogConfig, error) {
	cc := &CatalogConfig{URL: c.url, Preset: c.preset, Collections: c.collections}
	if c.preset != "" && !slices.Contains(presetNames(), c.preset) {
		return "", nil, fmt.Errorf("%w: --preset %q: unknown (want %s)", errUsage, c.preset, strings.Join(presetNames(), ", "))
	}
	if c.url == "" {
		return c.preset, cc, nil
	}
	u, err := url.Parse(c.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", nil, fmt.Errorf("%w: --url %q: not an http(s) URL of a STAC API", errUsage, c.url)
	}
	if cc.Preset == "" {
		cc.Preset = presetForURL(u)
	}
	if cc.Preset != "" {
		return cc.Preset, cc, nil
	}
	return strings.ReplaceAll(u.Host, ":", "_"), cc, nil
}

// flagText is the command line's catalog, for messages.
func (c *catalogChoice) flagText() string {
	var parts []string
	if c.url != "" {
		parts = append(parts, "--url "+c.url)
	}
	if c.preset != "" {
		parts = append(parts, "--preset "+c.preset)
	}
	return strings.Join(parts, " ")
}

// presetNames lists every preset, sorted.
func presetNames() []string {
	var names []string
	for n := range presets {
		names = append(names, n)
	}
	for n := range providerPresets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// presetForURL returns the preset whose STAC API u is ("" for none): the
// presets' own URLs, and NASA's CMR-STAC providers (earthdata).
func presetForURL(u *url.URL) string {
	norm := func(u *url.URL) string {
		return strings.ToLower(u.Scheme+"://"+u.Host) + strings.TrimSuffix(u.Path, "/")
	}
	want := norm(u)
	for name, p := range presets {
		if pu, err := url.Parse(p.url); err == nil && norm(pu) == want {
			return name
		}
	}
	for name, p := range providerPresets {
		if pu, err := url.Parse(p.url); err == nil && p.url != "" && norm(pu) == want {
			return name
		}
	}
	if strings.EqualFold(u.Host, "cmr.earthdata.nasa.gov") && strings.HasPrefix(u.Path, "/stac/") {
		return presetEarthdata
	}
	return ""
}

// loadSettings loads the config file's settings for a catalog given on the
// command line: the file may have no catalogs, and may be missing unless
// it was named (--config, $STACFS_CONFIG). Its own catalogs are not used.
func loadSettings(path string, explicit bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		cfg := defaultConfig()
		return &cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := parseConfig(path, string(data), false)
	var ce catalogErrors
	if errors.As(err, &ce) {
		err = nil // the file's catalogs are not mounted
	}
	return cfg, err
}

// withConfigHint adds, to the error of a missing default config file, how
// to start without one.
func withConfigHint(err error, path string, explicit bool) error {
	if explicit || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return fmt.Errorf("%w\n  create it (see config.toml.example), or use a catalog without a config file:\n"+
		"    stacfs mount --url https://earth-search.aws.element84.com/v1 MOUNTPOINT   (any STAC API)\n"+
		"    stacfs mount --preset planetary-computer MOUNTPOINT\n"+
		"  or try the built-in demo: stacfs demo", err)
}
