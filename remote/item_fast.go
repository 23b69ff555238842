package remote

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/tidwall/gjson"
)

// parseItemFast decodes the fields stacfs reads from an item that is known to be valid
// JSON (a feature of a page already validated), in one pass over its members with gjson
// (no second validation, nothing decoded that the tree does not use: listings parse
// thousands of 10-25 KB items). ok is false for a shape it does not take (a member of an
// unexpected type): parseItemMap decides then, leniently. Every string kept is cloned:
// gjson's are slices of the document, which must not stay in memory with the item.
func parseItemFast(raw []byte) (it Item, ok bool) {
	doc := gjson.ParseBytes(raw)
	if !doc.IsObject() {
		return Item{}, false
	}
	it = Item{Raw: raw}
	var dt, start, end string
	var assets map[string]gjson.Result
	ok = true
	doc.ForEach(func(k, v gjson.Result) bool {
		switch k.String() {
		case "id":
			it.ID, ok = str(v)
		case "collection":
			it.Collection, ok = str(v)
		case "bbox":
			it.Bbox, ok = numbers(v)
		case "properties":
			if v.Type == gjson.Null {
				dt, start, end = "", "", ""
				break
			}
			if ok = v.IsObject(); ok {
				v.ForEach(func(k, v gjson.Result) bool {
					switch k.String() {
					case "datetime":
						dt, ok = str(v)
					case "start_datetime":
						start, ok = str(v)
					case "end_datetime":
						end, ok = str(v)
					}
					return ok
				})
			}
		case "assets":
			if v.Type == gjson.Null {
				assets = nil
				break
			}
			if ok = v.IsObject(); ok {
				assets = map[string]gjson.Result{} // a repeated key: the last one, as encoding/json
				v.ForEach(func(k, v gjson.Result) bool {
					assets[strings.Clone(k.String())] = v
					ok = v.IsObject()
					return ok
				})
			}
		}
		return ok
	})
	if !ok || it.ID == "" {
		return Item{}, false
	}
	it.setTimes(dt, start, end)
	for key, a := range assets {
		as := Asset{Key: key, Size: -1}
		a.ForEach(func(k, v gjson.Result) bool {
			switch k.String() {
			case "href":
				as.Href, ok = str(v)
			case "type":
				as.Type, ok = str(v)
			case "title":
				as.Title, ok = str(v)
			case "roles":
				as.Roles, ok = strs(v)
			case "file:size":
				as.Size = -1
				switch v.Type {
				case gjson.Number:
					as.Size = fileSize(json.Number(v.Raw))
				case gjson.Null, gjson.String, gjson.True, gjson.False:
				default:
					ok = false
				}
			case "alternate":
				as.Alternates, ok = alternates(v)
			}
			return ok
		})
		if !ok {
			return Item{}, false
		}
		it.Assets = append(it.Assets, as)
	}
	sort.Slice(it.Assets, func(i, j int) bool { return it.Assets[i].Key < it.Assets[j].Key })
	return it, true
}

// str is a string member: "" for null; ok false for another type (the lenient decoder then
// treats it as absent).
func str(v gjson.Result) (string, bool) {
	switch v.Type {
	case gjson.String:
		return strings.Clone(v.String()), true
	case gjson.Null:
		return "", true
	}
	return "", false
}

// strs is an array of strings (nil for null).
func strs(v gjson.Result) ([]string, bool) {
	return array(v, gjson.String, func(e gjson.Result) string { return strings.Clone(e.String()) })
}

// numbers is an array of numbers (nil for null).
func numbers(v gjson.Result) ([]float64, bool) {
	return array(v, gjson.Number, gjson.Result.Float)
}

// array is an array of elements of type typ, each converted by conv (nil for
// null); ok false for another type or an element of another type.
func array[T any](v gjson.Result, typ gjson.Type, conv func(gjson.Result) T) ([]T, bool) {
	if v.Type == gjson.Null {
		return nil, true
	}
	if !v.IsArray() {
		return nil, false
	}
	out := []T{}
	ok := true
	v.ForEach(func(_, e gjson.Result) bool {
		ok = e.Type == typ
		out = append(out, conv(e))
		return ok
	})
	return out, ok
}

// alternates is the alternate member of an asset: name -> href.
func alternates(v gjson.Result) (map[string]string, bool) {
	if v.Type == gjson.Null {
		return nil, true
	}
	if !v.IsObject() {
		return nil, false
	}
	var out map[string]string
	ok := true
	v.ForEach(func(name, alt gjson.Result) bool {
		if alt.Type == gjson.Null {
			return true
		}
		if ok = alt.IsObject(); !ok {
			return false
		}
		h := alt.Get("href")
		if !h.Exists() || h.Type == gjson.Null {
			return true
		}
		if ok = h.Type == gjson.String; ok && h.String() != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[strings.Clone(name.String())] = strings.Clone(h.String())
		}
		return ok
	})
	return out, ok
}
