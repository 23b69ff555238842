package tests

import (
	"maps"
	"strings"

	"github.com/BurntSushi/toml"
)

// presetConfig is the config of a provider's mount test: catalog "fake" on the named
// preset, pointed at the fake's STAC API (url) and its token and download hosts through
// the keys a user would override. catalog holds more keys of [catalogs.fake] (nil for
// none), auth the keys of [catalogs.fake.auth] (strings, or lists of strings).
//
// The cache is small (64 MiB) and its metadata TTL short (1 s): stacfs asks the servers,
// with tokens, again and again, so that a test crosses several token lifetimes.
//
// More tables may be appended to the text it returns (TOML lets a table be defined after
// its siblings).
func presetConfig(preset, url string, catalog, auth map[string]any) string {
	fake := map[string]any{"preset": preset, "url": url, "auth": auth}
	maps.Copy(fake, catalog)
	doc := map[string]any{
		"cache":    map[string]any{"memory": "64MiB", "metadata_ttl": "1s"},
		"catalogs": map[string]any{"fake": fake},
	}
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(doc); err != nil {
		panic(err) // only for a value TOML has no form for: a mistake in the test
	}
	return b.String()
}
