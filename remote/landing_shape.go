package remote

import (
	"encoding/json"
	"fmt"
	"strings"
)

// NotLandingError is a catalog URL that answered a STAC document other than
// an API's landing page: the /collections list, a collection, an item or a
// static catalog. Users paste these URLs from a browser; the error says
// which URL to use instead. It is an ErrBadResponse (no retry helps).
type NotLandingError struct {
	URL  string // the URL given (redacted)
	What string // what it is, e.g. "a list of collections"
	Hint string // what to do, or ""
}

func (e *NotLandingError) Error() string {
	s := fmt.Sprintf("%s is %s, not a STAC API landing page", e.URL, e.What)
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

func (e *NotLandingError) Unwrap() error { return ErrBadResponse }

// checkLandingShape returns a *NotLandingError when raw, fetched from url,
// is a STAC document that is not an API landing page. A landing page is a
// Catalog with conformance classes or a search link; anything that is not
// recognisably something else passes (servers vary).
func checkLandingShape(url string, raw []byte) error {
	var doc struct {
		Type        string            `json:"type"`
		ID          string            `json:"id"`
		ConformsTo  []string          `json:"conformsTo"`
		Links       []link            `json:"links"`
		Collections []json.RawMessage `json:"collections"`
		Features    []json.RawMessage `json:"features"`
	}
	if json.Unmarshal(raw, &doc) != nil {
		return nil // fetchLanding reports malformed JSON
	}
	rel := func(r string) string {
		for _, l := range doc.Links {
			if l.Rel == r {
				return l.Href
			}
		}
		return ""
	}
	useRoot := func() string {
		if root := rel("root"); root != "" {
			return "use its API's root URL, " + root
		}
		return "use its API's root URL"
	}
	u := RedactURL(url)
	switch {
	case doc.Collections != nil && doc.Type == "":
		hint := "use the API's root URL"
		if base, ok := strings.CutSuffix(strings.TrimSuffix(u, "/"), "/collections"); ok {
			hint = "use " + base + "/"
		}
		return &NotLandingError{URL: u, What: "a list of collections", Hint: hint}
	case doc.Type == "Collection":
		hint := useRoot()
		if doc.ID != "" {
			hint += fmt.Sprintf(", with collections = [%q] (or --collections %s)", doc.ID, doc.ID)
		}
		return &NotLandingError{URL: u, What: "a collection", Hint: hint}
	case doc.Type == "Feature":
		return &NotLandingError{URL: u, What: "an item", Hint: useRoot()}
	case doc.Type == "FeatureCollection" || doc.Features != nil:
		return &NotLandingError{URL: u, What: "a list of items (a search or items page)", Hint: useRoot()}
	case doc.Type == "Catalog" && len(doc.ConformsTo) == 0 && rel("search") == "" && rel("child") != "":
		return &NotLandingError{URL: u, What: "a static STAC catalog (catalog.json: no conformance classes, no search)",
			Hint: "stacfs needs a STAC API, which can search by date; serve it with one (stac-fastapi, pgstac) or find the provider's API"}
	}
	return nil
}
