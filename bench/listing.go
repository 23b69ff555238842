package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"

	"github.com/stacfs/stacfs/fakestac"
)

// The listing rows: `ls` of one day of bigDayItems items of ~bigDayItemBytes of JSON each
// (pages of 1 000), from a STAC API behind the same shaped link as the assets.
const (
	bigDayColl      = "sentinel-1-bursts-bench"
	bigDayItems     = 50000
	bigDayItemBytes = 20000
	bigDayPage      = 1000
)

var bigDayDate = time.Date(2024, 3, 14, 0, 0, 0, 0, time.UTC)

// bigDayDate2 is a second such day, listed on the same mount after the first: the peak
// RSS must stay about the same (the first day's listing is evictable).
var bigDayDate2 = bigDayDate.AddDate(0, 0, 1)

// bigDay is the STAC API of the listing rows and its shaped proxy.
type bigDay struct {
	stac  *fakestac.Server
	proxy *toxiproxy.Proxy
	url   string   // the landing page through the proxy
	pages []string // the URLs of the day's search pages through the proxy, in order
}

// startBigDay starts the big day's STAC API behind a shaped proxy of its own, and walks
// its pages once (unmeasured) for the curl baseline.
func (b *bench) startBigDay(ctx context.Context) (*bigDay, error) {
	d := &bigDay{stac: fakestac.New(fakestac.Options{MaxLimit: bigDayPage})}
	d.stac.AddCollection(fakestac.Collection{ID: bigDayColl, Start: bigDayDate, End: bigDayDate2.Add(24*time.Hour - time.Second)})
	for _, day := range []time.Time{bigDayDate, bigDayDate2} {
		d.stac.AddBigDay(fakestac.BigDay{Collection: bigDayColl, Day: day, Items: bigDayItems, ItemBytes: bigDayItemBytes})
	}
	upstream := strings.TrimPrefix(d.stac.URL, "http://")
	d.proxy = toxiproxy.NewProxy(b.srv.tox, "stac", "127.0.0.1:0", upstream)
	if err := b.srv.tox.Collection.Add(d.proxy, true); err != nil {
		return nil, fmt.Errorf("toxiproxy: %w", err)
	}
	if err := shape(d.proxy); err != nil {
		return nil, err
	}
	// Links name the proxy, so that every page a client follows is shaped.
	base := "http://" + d.proxy.Listen
	d.stac.STACURL = base + strings.TrimPrefix(d.stac.STACURL, d.stac.URL)
	d.stac.URL = base
	d.url = d.stac.STACURL
	// The pages stacfs asks for: the day's search with limit=1000, following next links.
	from, to := bigDayDate, bigDayDate.AddDate(0, 0, 1)
	next := fmt.Sprintf("%ssearch?collections=%s&datetime=%s&limit=%d", d.url, bigDayColl,
		from.Format("2006-01-02T15:04:05.000Z")+"/"+to.Add(-time.Millisecond).Format("2006-01-02T15:04:05.000Z"), bigDayPage)
	for next != "" && len(d.pages) < 1000 {
		d.pages = append(d.pages, next)
		var page struct {
			Features []json.RawMessage `json:"features"`
			Links    []struct{ Rel, Href string }
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("big day page %d: %w", len(d.pages), err)
		}
		next = ""
		for _, l := range page.Links {
			if l.Rel == "next" && len(page.Features) > 0 {
				next = l.Href
			}
		}
	}
	return d, nil
}

func (d *bigDay) close() {
	d.proxy.Stop()
	d.stac.Close()
}

// lsRows measures `ls` of the big day: cold on a fresh mount (after the walk to the
// day's folder), warm again on the same mount, then a second such day on the same mount
// (for the peak RSS after two days); and curl fetching the first day's pages one after
// the other.
func (b *bench) lsRows(ctx context.Context, d *bigDay) error {
	rel := filepath.Join(bigDayColl, bigDayDate.Format("2006/01/02"))
	m, err := b.mountStacfsAt(ctx, d.url, rel)
	if err != nil {
		return err
	}
	day := filepath.Join(m.dir, rel)
	_, err = b.measureSTAC(ctx, rowLs, "stacfs", m, []string{"ls", day}, d)
	if err == nil {
		_, err = b.measureSTAC(ctx, rowLsWarm, "stacfs", m, []string{"ls", day}, d)
	}
	if err == nil {
		day2 := filepath.Join(m.dir, bigDayColl, bigDayDate2.Format("2006/01/02"))
		_, err = b.measureSTAC(ctx, rowLs2, "stacfs", m, []string{"ls", day2}, d)
	}
	if e := m.stop(); err == nil && e != nil {
		err = fmt.Errorf("%v\n%s", e, m.stderr)
	}
	if err != nil {
		return err
	}
	curl := []string{"curl", "-sS", "-f"}
	for _, p := range d.pages {
		curl = append(curl, "-o", "/dev/null", p)
	}
	_, err = b.measureSTAC(ctx, rowLs, "baseline", nil, curl, d)
	return err
}

// measureSTAC is measure with the big day's STAC API as the server counted.
func (b *bench) measureSTAC(ctx context.Context, row, client string, m *mounted, argv []string, d *bigDay) (sample, error) {
	d.stac.Reset()
	s, err := b.measureWith(ctx, row, client, m, argv, nil, func() counters {
		return counters{requests: d.stac.Count("/"), bytes: d.stac.BytesServed("/")}
	})
	return s, err
}

// shape adds the bench's link toxics to a proxy: latencyMS each way, bandwidthKBps down.
func shape(p *toxiproxy.Proxy) error {
	for _, t := range []string{
		fmt.Sprintf(`{"name":"latency_down","type":"latency","stream":"downstream","attributes":{"latency":%d}}`, latencyMS),
		fmt.Sprintf(`{"name":"latency_up","type":"latency","stream":"upstream","attributes":{"latency":%d}}`, latencyMS),
		fmt.Sprintf(`{"name":"bandwidth_down","type":"bandwidth","stream":"downstream","attributes":{"rate":%d}}`, bandwidthKBps),
	} {
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(t)); err != nil {
			return fmt.Errorf("toxiproxy toxic %s: %w", t, err)
		}
	}
	return nil
}
