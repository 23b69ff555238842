package fakestac

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// BigDay is one day of many items, as global collections have (Sentinel-2
// L2A: 3 000-6 000 a day; Sentinel-1 bursts: tens of thousands), for
// listing tests and benchmarks.
type BigDay struct {
	Collection string    // added when the server does not have it yet
	Day        time.Time // the UTC day; items are spread over it
	Items      int
	// Assets per item (default 5), each with file:size. Their hrefs point
	// at this server but are not served: listings only.
	Assets int
	// ItemBytes pads each item's JSON to about this many bytes with a
	// property (real items are 10-25 KB); 0 leaves items small (~1 KB).
	ItemBytes int
}

// BigDayID is the id of item i of a BigDay: ids sort as i does.
func BigDayID(collection string, day time.Time, i int) string {
	return fmt.Sprintf("%s_%s_%06d", collection, day.UTC().Format("20060102"), i)
}

// AddBigDay adds the items of d and returns their ids, sorted.
func (s *Server) AddBigDay(d BigDay) []string {
	if d.Assets <= 0 {
		d.Assets = 5
	}
	day := time.Date(d.Day.Year(), d.Day.Month(), d.Day.Day(), 0, 0, 0, 0, time.UTC)
	s.mu.Lock()
	known := false
	for _, c := range s.colls {
		known = known || c.ID == d.Collection
	}
	s.mu.Unlock()
	if !known {
		s.AddCollection(Collection{ID: d.Collection, Start: day, End: day.Add(24*time.Hour - time.Second)})
	}
	var props map[string]any
	if d.ItemBytes > 1000 {
		props = map[string]any{"pad": strings.Repeat("x", d.ItemBytes-1000)}
	}
	ids := make([]string, d.Items)
	step := 24 * time.Hour / time.Duration(max(d.Items, 1))
	for i := range d.Items {
		id := BigDayID(d.Collection, day, i)
		ids[i] = id
		dt := day.Add(time.Duration(i) * step)
		it := Item{ID: id, Collection: d.Collection, Datetime: &dt, Bbox: []float64{float64(i%359) - 180, 0, float64(i%359) - 179, 1},
			Properties: props, Assets: make(map[string]Asset, d.Assets)}
		for a := range d.Assets {
			key := fmt.Sprintf("B%02d", a+1)
			it.Assets[key] = Asset{Href: fmt.Sprintf("%s/data/big/%s/%s.tif", s.URL, id, key), Type: "image/tiff; application=geotiff",
				Roles: []string{"data"}, Size: int64(1<<20 + a), FileSize: true}
		}
		s.AddItem(it)
	}
	return ids
}

// PageOffset is the position of the first item of the search page that a GET
// request of this query asks for (0 for the first page, and for other
// requests), for fault hooks that hold or fail a given page of a listing.
func PageOffset(query url.Values) int {
	off, err := getOffset(query)
	if err != nil {
		return 0
	}
	return off
}
