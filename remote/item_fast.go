package remote

import (
	"encoding/json"
	"sort"
)

// itemWire is the part of a STAC item that stacfs reads, decoded in one pass (the rest of
// the document, most of its bytes, is skipped). Each field stays raw so that a field of an
// unexpected type is treated as absent, as parseItemMap does.
type itemWire struct {
	ID         json.RawMessage `json:"id"`
	Collection json.RawMessage `json:"collection"`
	Bbox       json.RawMessage `json:"bbox"`
	Properties *struct {
		Datetime json.RawMessage `json:"datetime"`
		Start    json.RawMessage `json:"start_datetime"`
		End      json.RawMessage `json:"end_datetime"`
	} `json:"properties"`
	Assets map[string]*struct {
		Href      json.RawMessage `json:"href"`
		Type      json.RawMessage `json:"type"`
		Title     json.RawMessage `json:"title"`
		Roles     json.RawMessage `json:"roles"`
		FileSize  json.RawMessage `json:"file:size"`
		Alternate map[string]*struct {
			Href json.RawMessage `json:"href"`
		} `json:"alternate"`
	} `json:"assets"`
}

// parseItemFast decodes raw through itemWire; ok is false when the document's shape
// does not fit it (a properties or assets member that is not an object, ...), and the
// lenient parseItemMap decides then.
func parseItemFast(raw []byte) (it Item, ok bool) {
	var w itemWire
	if json.Unmarshal(raw, &w) != nil {
		return Item{}, false
	}
	it = Item{Raw: raw}
	if !rawField(w.ID, &it.ID) || it.ID == "" {
		return Item{}, false
	}
	rawField(w.Collection, &it.Collection)
	rawField(w.Bbox, &it.Bbox)
	var dt, start, end string
	if p := w.Properties; p != nil {
		rawField(p.Datetime, &dt)
		rawField(p.Start, &start)
		rawField(p.End, &end)
	}
	it.setTimes(dt, start, end)
	for key, a := range w.Assets {
		if a == nil {
			return Item{}, false // null asset: as the lenient path has it
		}
		as := Asset{Key: key, Size: -1}
		rawField(a.Href, &as.Href)
		rawField(a.Type, &as.Type)
		rawField(a.Title, &as.Title)
		rawField(a.Roles, &as.Roles)
		var size json.Number
		if rawField(a.FileSize, &size) {
			as.Size = fileSize(size)
		}
		for name, alt := range a.Alternate {
			var href string
			if alt != nil && rawField(alt.Href, &href) && href != "" {
				if as.Alternates == nil {
					as.Alternates = map[string]string{}
				}
				as.Alternates[name] = href
			}
		}
		it.Assets = append(it.Assets, as)
	}
	sort.Slice(it.Assets, func(i, j int) bool { return it.Assets[i].Key < it.Assets[j].Key })
	return it, true
}

// rawField decodes raw into v and reports success; absent, null or mistyped is false.
func rawField[T any](raw json.RawMessage, v *T) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return false
	}
	var x T
	if json.Unmarshal(raw, &x) != nil {
		return false
	}
	*v = x
	return true
}
