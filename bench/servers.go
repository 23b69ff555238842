package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/stacfs/stacfs/fakestac"
)

// Names of the fake catalog. The shaped collection's item points at the Toxiproxy
// listener, the loopback one's at the asset server itself.
const (
	itemID         = "S2B_31UFT_20240314_0_L2A"
	shapedColl     = "sentinel-2-l2a-bench"
	loopbackColl   = "sentinel-2-l2a-bench-loopback"
	assetName      = "B04.tif"
	assetDir       = "/data/" + itemID + "/"
	assetPath      = assetDir + assetName
	latencyMS      = 20    // each way
	bandwidthKBps  = 50000 // per connection, toxiproxy KB/s (1000 bytes)
	catalogName    = "bench"
	cacheMemory    = "256MiB"
	cacheMemoryMiB = 256
)

var itemTime = time.Date(2024, 3, 14, 10, 56, 29, 0, time.UTC)

// servers is the fake world: an asset server that counts requests and bytes, Toxiproxy in
// front of it, and a STAC API whose items point at the proxy (or at the asset server).
type servers struct {
	assets *fakestac.Server // serves the COG and counts every request and byte
	stac   *fakestac.Server // STAC API (not shaped: it is not what is measured)
	tox    *toxiproxy.ApiServer
	proxy  *toxiproxy.Proxy

	shapedURL   string // the COG through the proxy
	loopbackURL string // the COG straight from the asset server
	shapedDir   string // the folder of the COG through the proxy (for rclone's http backend)
	loopbackDir string // the folder of the COG straight from the asset server
	zipURL      string // the 500 MiB zip holding the COG, through the proxy (ziprow.go)
	size        int64
}

func startServers(cog []byte) (*servers, error) {
	s := &servers{size: int64(len(cog))}
	s.assets = fakestac.New(fakestac.Options{AssetsOnly: true})
	s.assets.AddAsset(fakestac.Asset{Path: assetPath, Content: cog, Type: cogType})
	// An HTML index of the item folder, for rclone's http backend.
	s.assets.Handle("GET "+assetDir+"{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><body><pre><a href=\"%s\">%s</a></pre></body></html>\n", assetName, assetName)
	}))

	// Toxiproxy, in process: 20 ms each way, 50 MB/s per connection downstream.
	zerolog.SetGlobalLevel(zerolog.WarnLevel)
	s.tox = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	upstream := strings.TrimPrefix(s.assets.URL, "http://")
	s.proxy = toxiproxy.NewProxy(s.tox, "assets", "127.0.0.1:0", upstream)
	if err := s.tox.Collection.Add(s.proxy, true); err != nil {
		s.close()
		return nil, fmt.Errorf("toxiproxy: %w", err)
	}
	if err := shape(s.proxy); err != nil {
		s.close()
		return nil, err
	}
	proxyBase := "http://" + s.proxy.Listen
	s.shapedURL = proxyBase + assetPath
	s.shapedDir = proxyBase + assetDir
	s.loopbackURL = s.assets.URL + assetPath
	s.loopbackDir = s.assets.URL + assetDir

	s.stac = fakestac.New(fakestac.Options{})
	bbox := []float64{4.32, 51.33, 5.89, 52.34}
	for _, c := range []struct{ id, href string }{{shapedColl, s.shapedURL}, {loopbackColl, s.loopbackURL}} {
		s.stac.AddCollection(fakestac.Collection{
			ID: c.id, Title: "Sentinel-2 L2A (benchmark)",
			Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
			End:   time.Date(2024, 3, 31, 23, 59, 59, 0, time.UTC),
			Bbox:  bbox,
		})
		t := itemTime
		s.stac.AddItem(fakestac.Item{
			ID: itemID, Collection: c.id, Datetime: &t, Bbox: bbox,
			Properties: map[string]any{"platform": "sentinel-2b", "eo:cloud_cover": 3.1},
			Assets: map[string]fakestac.Asset{
				"red": {Href: c.href, Size: s.size, FileSize: true, Type: cogType,
					Title: "Red (band 4) - 10m", Roles: []string{"data", "reflectance"}},
			},
		})
	}
	if _, err := s.addZipProduct(cog, proxyBase); err != nil {
		s.close()
		return nil, fmt.Errorf("zip product: %w", err)
	}
	s.zipURL = proxyBase + zipPath
	return s, nil
}

const cogType = "image/tiff; application=geotiff; profile=cloud-optimized"

func (s *servers) close() {
	if s.proxy != nil {
		s.proxy.Stop()
	}
	if s.stac != nil {
		s.stac.Close()
	}
	if s.assets != nil {
		s.assets.Close()
	}
}

// counters are what the asset server saw since the last reset.
type counters struct {
	requests int
	bytes    int64
}

func (s *servers) counters() counters {
	return counters{requests: s.assets.Count("/"), bytes: s.assets.BytesServed("/")}
}

// settle waits until the asset server's counters stop moving (read-ahead that outlives
// the client is counted too), at most 3 s.
func (s *servers) settle(count func() counters) counters {
	last := count()
	stable := 0
	deadline := time.Now().Add(3 * time.Second)
	for stable < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		c := count()
		if c == last {
			stable++
		} else {
			stable, last = 0, c
		}
	}
	return last
}

// warmUp reads the COG once through the proxy as 16 parallel ranges and
// once straight from the asset server, unmeasured: the bench process's own
// servers (the asset server, Toxiproxy's per-connection buffers) start
// cold too, and the first client measured would pay for their memory.
// Client caches are untouched: every cold row still uses a fresh mount.
func (s *servers) warmUp(ctx context.Context) error {
	const streams = 16
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: streams}}
	defer client.CloseIdleConnections()
	get := func(url string, from, to int64) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, to))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	errs := make(chan error, streams)
	part := (s.size + streams - 1) / streams
	for i := range int64(streams) {
		go func() { errs <- get(s.shapedURL, i*part, min((i+1)*part, s.size)-1) }()
	}
	var first error
	for range streams {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return fmt.Errorf("warm-up: %w", first)
	}
	return get(s.loopbackURL, 0, s.size-1)
}
