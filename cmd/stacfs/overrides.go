package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
)

// configFlags are the config keys that mount and demo also take as flags,
// named after the keys; a flag given wins over the file.
type configFlags struct {
	memory, disk Size
	dir          string
	ttl          Duration
	fl           *pflag.FlagSet
}

func (c *configFlags) register(fl *pflag.FlagSet) {
	c.fl = fl
	fl.Var(&c.memory, "cache-memory", "block cache budget in RAM, as [cache] memory (e.g. 1GiB)")
	fl.StringVar(&c.dir, "cache-dir", "", "`DIR` of the persistent disk tier, as [cache] dir")
	fl.Var(&c.disk, "cache-disk", "disk tier budget, as [cache] disk (e.g. 20GiB; needs a cache dir)")
	fl.Var(&c.ttl, "metadata-ttl", "how long listings and sizes are cached, as [cache] metadata_ttl (e.g. 10m)")
	noDefaults(fl, "cache-memory", "cache-disk", "metadata-ttl")
}

// configPathFlag registers --config on fl and returns what gives its value
// after parsing: the file named, else DefaultConfigPath; explicit is true
// when the file was named (--config, $STACFS_CONFIG), so that it must exist.
func configPathFlag(fl *pflag.FlagSet) func() (path string, explicit bool) {
	p := fl.String("config", "", "config `FILE` (default $STACFS_CONFIG, else ~/.config/stacfs/config.toml)")
	return func() (string, bool) {
		if *p != "" {
			return *p, true
		}
		return DefaultConfigPath(), os.Getenv("STACFS_CONFIG") != ""
	}
}

// noDefaults keeps the help from showing a default for flags whose default
// is the config's.
func noDefaults(fl *pflag.FlagSet, names ...string) {
	for _, n := range names {
		fl.Lookup(n).DefValue = ""
	}
}

// apply writes the flags given over cfg and checks the result.
func (c *configFlags) apply(cfg *Config) error {
	if c.fl.Changed("cache-memory") {
		cfg.Cache.Memory = c.memory
	}
	if c.fl.Changed("cache-dir") {
		cfg.Cache.Dir = expandHome(c.dir)
	}
	if c.fl.Changed("cache-disk") {
		if cfg.Cache.Dir == "" {
			return fmt.Errorf("%w: --cache-disk: set --cache-dir (or [cache] dir) too, the folder of the disk tier", errUsage)
		}
		cfg.Cache.Disk = c.disk
	}
	if c.fl.Changed("metadata-ttl") {
		cfg.Cache.MetadataTTL = c.ttl
	}
	if err := cfg.checkValues(); err != nil {
		return fmt.Errorf("%w: %v (from the flags)", errUsage, err)
	}
	return nil
}
