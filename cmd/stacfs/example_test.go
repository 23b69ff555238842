package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
)

// TestConfigExample: config.toml.example parses (its catalogs may miss
// their credential files here), and states each default as the code has it.
func TestConfigExample(t *testing.T) {
	b, err := os.ReadFile("../../config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if _, err := ParseConfig("config.toml.example", text); err != nil {
		if _, ok := err.(catalogErrors); !ok {
			t.Fatalf("config.toml.example: %v", err)
		}
	}
	short := func(d time.Duration) string { // "5m" rather than "5m0s"
		s := d.String()
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		return s
	}
	for key, def := range map[string]string{
		"memory":            Size(cache.DefaultMemory).String(),
		"block_size":        Size(cache.DefaultBlockSize).String(),
		"read_ahead":        Size(cache.DefaultMaxReadAhead).String(),
		"disk":              Size(cache.DefaultDiskBytes).String(),
		"stream_stat_limit": Size(catalog.DefaultStreamStatLimit).String(),
		"metadata_ttl":      short(defaultConfig().Cache.MetadataTTL.Duration),
		"retry_budget":      short(remote.DefaultRetryBudget),
		"stall_timeout":     short(remote.DefaultStallTimeout),
	} {
		if !strings.Contains(strings.ToLower(text), strings.ToLower(fmt.Sprintf("default %q", def))) {
			t.Errorf("config.toml.example does not give the default of %s, %q", key, def)
		}
	}
}
