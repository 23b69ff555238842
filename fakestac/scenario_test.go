package fakestac

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// provAsset and provPage decode what the provider scenarios render.
type provAsset struct {
	Href      string                       `json:"href"`
	FileSize  *int64                       `json:"file:size"`
	Alternate map[string]map[string]string `json:"alternate"`
}

type provItem struct {
	ID         string               `json:"id"`
	Collection string               `json:"collection"`
	Properties map[string]any       `json:"properties"`
	Assets     map[string]provAsset `json:"assets"`
}

type provPage struct {
	Features      []provItem `json:"features"`
	Links         []testLink `json:"links"`
	NumberMatched *int       `json:"numberMatched"`
}

func (p provPage) next() string {
	for _, l := range p.Links {
		if l.Rel == "next" {
			return l.Href
		}
	}
	return ""
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func getJSON(t *testing.T, c *http.Client, u string, hdr map[string]string, v any) int {
	t.Helper()
	code, _, body := do(t, c, http.MethodGet, u, nil, hdr)
	if code == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
	}
	return code
}

// checkNoAuthOutside fails when a request carried Authorization outside allowed (origin
// name -> path prefixes).
func checkNoAuthOutside(t *testing.T, logs []ServerLog, allowed map[string][]string) {
	t.Helper()
	for _, l := range logs {
		for _, r := range l.WithAuthorization() {
			ok := false
			for _, p := range allowed[l.Name] {
				ok = ok || strings.HasPrefix(r.Path, p)
			}
			if !ok {
				t.Errorf("%s: %s %s carried Authorization", l.Name, r.Method, r.Path)
			}
		}
	}
}
