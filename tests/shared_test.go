package tests

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stacfs/stacfs/fakestac"
	"github.com/stacfs/stacfs/internal/redistest"
)

// sharedConfig is configFor with a [cache.shared] table on url, with a
// call timeout loose enough for race-built mounts on a busy machine.
func sharedConfig(srv *fakestac.Server, url string) string {
	return configFor(srv, "") + fmt.Sprintf("\n[cache.shared]\nurl = %q\ntimeout = \"2s\"\nkey_prefix = \"fleet:\"\n", url)
}

// TestSharedTierFleet mounts one catalog three times (three nodes, each
// with its own memory cache) over one real redis-server.
func TestSharedTierFleet(t *testing.T) {
	requireFUSE(t)
	rs := redistest.StartT(t)
	f := newFixture(t, fakestac.Options{})
	cfg := sharedConfig(f.srv, rs.URL())
	var ms []*mount
	for range 3 {
		ms = append(ms, startMount(t, cfg))
	}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	const unit = 256 << 10
	units := func(size int64) int { return int((size + unit - 1) / unit) }
	// waitUnits waits until n units are stored (stores run in the background).
	waitUnits := func(t *testing.T, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			keys, err := rdb.Keys(context.Background(), "fleet:u:*").Result()
			if err == nil && len(keys) >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d units stored, want %d (%v)", len(keys), n, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	const item = "S2/2023/03/15/S2A_20230315_a"
	readFile := func(t *testing.T, m *mount, rel string, seed int, size int64) {
		t.Helper()
		got, err := os.ReadFile(filepath.Join(m.Dir, item, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, ramp(seed, 0, size)) {
			t.Fatalf("%s: wrong bytes through %s", rel, m.Dir)
		}
	}

	t.Run("second node reads Redis", func(t *testing.T) {
		readFile(t, ms[0], "B04.tif", 1, bigSize)
		waitUnits(t, units(bigSize))
		assets, stac := f.srv.Count("/data/"), f.srv.Count("/stac")
		readFile(t, ms[1], "B04.tif", 1, bigSize)
		if n := f.srv.Count("/data/") - assets; n != 0 {
			t.Errorf("second node's read made %d asset requests, want 0", n)
		}
		if n := f.srv.Count("/stac") - stac; n != 0 {
			t.Errorf("second node's listing made %d STAC requests, want 0", n)
			for _, r := range f.srv.Requests() {
				t.Logf("%s %s?%s %s", r.Method, r.Path, r.RawQuery, r.Body)
			}
		}
	})

	t.Run("corrupt unit refetched", func(t *testing.T) {
		keys, err := rdb.Keys(context.Background(), "fleet:u:*:1").Result()
		if err != nil || len(keys) != 1 {
			t.Fatalf("unit 1 of B04.tif: keys %v, %v", keys, err)
		}
		v, err := rdb.Get(context.Background(), keys[0]).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		v[len(v)-7] ^= 0xff // a payload byte: only the CRC tells
		if err := rdb.Set(context.Background(), keys[0], v, 0).Err(); err != nil {
			t.Fatal(err)
		}
		before, bytesBefore := f.srv.Count("/data/"), f.srv.BytesServed("/data/")
		readFile(t, ms[2], "B04.tif", 1, bigSize)
		if n, b := f.srv.Count("/data/")-before, f.srv.BytesServed("/data/")-bytesBefore; n != 1 || b != unit {
			t.Errorf("third node made %d asset requests for %d bytes, want 1 for the damaged unit (%d bytes)", n, b, unit)
		}
	})

	t.Run("concurrent readers fetch each unit once", func(t *testing.T) {
		const other = "S2/2023/03/15/S2B_20230315_b/B04.tif"
		path := "/data/s2/S2B_20230315_b/B04.tif"
		var wg sync.WaitGroup
		for _, m := range ms {
			wg.Go(func() {
				got, err := os.ReadFile(filepath.Join(m.Dir, other))
				if err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(got, ramp(11, 0, bigSize)) {
					t.Errorf("wrong bytes through %s", m.Dir)
				}
			})
		}
		wg.Wait()
		// Every unit once, and the head probe (its 16 KiB) once.
		if b := f.srv.BytesServed(path); b > bigSize+16<<10 {
			t.Errorf("three nodes fetched %d bytes of a %d-byte file, want each unit once (%d requests)", b, bigSize, f.srv.Count(path))
		}
	})

	t.Run("Redis stopped", func(t *testing.T) {
		rs.Stop()
		start := time.Now()
		readFile(t, ms[1], "B08.tif", 2, smallSize)
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("read with Redis down took %v", d)
		}
	})
}

// TestSharedTierProtected mounts a token-protected catalog (the ESA MAAP
// fake) with a shared tier: nothing of it is stored by default, and with
// share_protected = true its bytes are, but no credential is.
func TestSharedTierProtected(t *testing.T) {
	requireFUSE(t)
	for _, share := range []bool{false, true} {
		t.Run(fmt.Sprintf("share_protected=%v", share), func(t *testing.T) {
			rs := redistest.StartT(t)
			e := fakestac.NewESAMAAP(fakestac.ESAOptions{})
			defer e.Close()
			creds := esaCredentials(t, e)
			cfg := esaConfig(e, creds) + fmt.Sprintf("\n[cache.shared]\nurl = %q\ntimeout = \"2s\"\nshare_protected = %v\n", rs.URL(), share)
			m := startMount(t, cfg, "--catalog", "fake")
			day := filepath.Join(m.Dir, fakestac.ESALevel1b, "2025/07/03")
			items := ls(t, day)
			if len(items) == 0 {
				t.Fatalf("ls %s: empty", day)
			}
			tiffs, _ := filepath.Glob(filepath.Join(day, strings.TrimSuffix(items[0], "/"), "measurement", "*.tiff"))
			if len(tiffs) != 1 {
				t.Fatalf("no tiff in %s", items[0])
			}
			if _, err := os.ReadFile(tiffs[0]); err != nil {
				t.Fatal(err)
			}
			token := stacfsToken(t, m)
			rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
			defer rdb.Close()
			var keys []string
			deadline := time.Now().Add(5 * time.Second)
			for {
				keys, _ = rdb.Keys(context.Background(), "stacfs:*").Result()
				if !share || len(keys) > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !share {
				if len(keys) != 0 {
					t.Fatalf("%d keys stored for a protected catalog without share_protected: %v", len(keys), keys)
				}
				return
			}
			if len(keys) == 0 {
				t.Fatal("nothing stored with share_protected = true")
			}
			for _, k := range keys {
				v, _ := rdb.Get(context.Background(), k).Bytes()
				for _, secret := range []string{token, e.ClientSecret, e.OfflineToken} {
					if secret != "" && bytes.Contains(v, []byte(secret)) {
						t.Errorf("key %s holds a credential", k)
					}
				}
			}
		})
	}
}
