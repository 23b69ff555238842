package remote

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Item is a STAC item with the fields stacfs uses.
type Item struct {
	ID, Collection string
	Time           time.Time // properties.datetime, else start_datetime, in UTC; zero if neither parses
	Start, End     time.Time // start_datetime/end_datetime when present
	Bbox           []float64
	Assets         []Asset         // sorted by Key
	Raw            json.RawMessage // the item exactly as the API returned it (bytes of that feature)
}

// Asset is one asset of an item. Hrefs are kept as the item gives them (they may be
// s3:// URLs, or local paths in alternates).
type Asset struct {
	Key, Href, Type, Title string
	Roles                  []string
	Size                   int64             // file:size, -1 when absent
	Alternates             map[string]string // alternate.<name>.href (alternate-assets extension)
}

// ParseItem decodes a STAC item. It is lenient: a field of an unexpected type is treated
// as absent, only a document that is not a JSON object or has no string id fails (with
// ErrBadResponse). Item.Raw is a copy of raw.
func ParseItem(raw []byte) (Item, error) {
	return parseItem(bytes.Clone(raw))
}

// parseItem is ParseItem keeping raw itself as Item.Raw. Listings parse thousands of
// 10-25 KB items: the common shape is decoded in one pass (parseItemFast), other shapes
// by parseItemMap.
func parseItem(raw []byte) (Item, error) {
	if !json.Valid(raw) {
		return parseItemMap(raw) // its error names what is wrong
	}
	return parseFeature(raw)
}

// parseFeature is parseItem of a feature of a page already validated as JSON.
func parseFeature(raw []byte) (Item, error) {
	if it, ok := parseItemFast(raw); ok {
		return it, nil
	}
	return parseItemMap(raw)
}

// parseItemMap decodes an item member by member, each of an unexpected type being absent.
func parseItemMap(raw []byte) (Item, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Item{}, fmt.Errorf("item: %w: %v", ErrBadResponse, err)
	}
	it := Item{Raw: raw}
	if !field(doc, "id", &it.ID) || it.ID == "" {
		return Item{}, fmt.Errorf("item without id: %w", ErrBadResponse)
	}
	field(doc, "collection", &it.Collection)
	field(doc, "bbox", &it.Bbox)

	var props map[string]json.RawMessage
	field(doc, "properties", &props)
	var dt, start, end string
	field(props, "datetime", &dt)
	field(props, "start_datetime", &start)
	field(props, "end_datetime", &end)
	it.setTimes(dt, start, end)

	var assets map[string]json.RawMessage
	field(doc, "assets", &assets)
	for key, araw := range assets {
		var a map[string]json.RawMessage
		if json.Unmarshal(araw, &a) != nil {
			continue
		}
		as := Asset{Key: key, Size: -1}
		field(a, "href", &as.Href)
		field(a, "type", &as.Type)
		field(a, "title", &as.Title)
		field(a, "roles", &as.Roles)
		var size json.Number
		if field(a, "file:size", &size) {
			as.Size = fileSize(size)
		}
		var alts map[string]json.RawMessage
		field(a, "alternate", &alts)
		for name, altRaw := range alts {
			var alt map[string]json.RawMessage
			var href string
			if json.Unmarshal(altRaw, &alt) == nil && field(alt, "href", &href) && href != "" {
				if as.Alternates == nil {
					as.Alternates = map[string]string{}
				}
				as.Alternates[name] = href
			}
		}
		it.Assets = append(it.Assets, as)
	}
	sort.Slice(it.Assets, func(i, j int) bool { return it.Assets[i].Key < it.Assets[j].Key })
	return it, nil
}

// setTimes sets Time, Start and End from the datetime properties.
func (it *Item) setTimes(dt, start, end string) {
	it.Time = ItemTime(dt, start)
	if start != "" {
		it.Start, _ = ParseTime(start)
	}
	if end != "" {
		it.End, _ = ParseTime(end)
	}
}

// fileSize is the value of file:size, -1 when it is not a whole number >= 0.
func fileSize(size json.Number) int64 {
	if n, err := size.Int64(); err == nil && n >= 0 {
		return n
	} else if f, err := size.Float64(); err == nil && f >= 0 && f == float64(int64(f)) {
		return int64(f)
	}
	return -1
}

// field decodes m[key] into v and reports success; absent, null or mistyped is false.
func field[T any](m map[string]json.RawMessage, key string, v *T) bool {
	raw, ok := m[key]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return false
	}
	var x T
	if json.Unmarshal(raw, &x) != nil {
		return false
	}
	*v = x
	return true
}

// ItemTime is the instant an item is placed at: datetime, else start (the
// start_datetime property), whichever parses first (see ParseTime), in UTC; zero when
// neither does. Exported for tests.
func ItemTime(datetime, start string) time.Time {
	if t, err := ParseTime(datetime); err == nil {
		return t
	}
	if t, err := ParseTime(start); err == nil {
		return t
	}
	return time.Time{}
}

// timeLayouts are tried in order by ParseTime; all accept fractional seconds.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999", // no zone: UTC
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02",
}

// ParseTime parses a STAC datetime: RFC 3339 with or without fractional seconds and with
// any offset, plus the lenient forms seen in catalogs (no zone, meaning UTC; offsets
// without colon; a space for T; a bare date). The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q", s)
}
