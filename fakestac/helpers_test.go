package fakestac

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"testing"
	"time"
)

// testLink is a STAC link as a client reads it.
type testLink struct {
	Rel    string                     `json:"rel"`
	Href   string                     `json:"href"`
	Method string                     `json:"method"`
	Body   map[string]json.RawMessage `json:"body"`
	Merge  *bool                      `json:"merge"`
}

// testPage is a FeatureCollection or a collection list as a client reads it.
type testPage struct {
	Type     string `json:"type"`
	Features []struct {
		ID         string         `json:"id"`
		Collection string         `json:"collection"`
		Properties map[string]any `json:"properties"`
		Assets     map[string]struct {
			Href     string `json:"href"`
			FileSize *int64 `json:"file:size"`
		} `json:"assets"`
	} `json:"features"`
	Collections []struct {
		ID string `json:"id"`
	} `json:"collections"`
	Links          []testLink `json:"links"`
	NumberMatched  *int       `json:"numberMatched"`
	NumberReturned int        `json:"numberReturned"`
}

func (p *testPage) next() *testLink {
	for i := range p.Links {
		if p.Links[i].Rel == "next" {
			return &p.Links[i]
		}
	}
	return nil
}

// ids returns the ids on the page (features, else collections).
func (p *testPage) ids() []string {
	var out []string
	for _, f := range p.Features {
		out = append(out, f.ID)
	}
	for _, c := range p.Collections {
		out = append(out, c.ID)
	}
	return out
}

func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// do sends a request and returns the status, headers and body.
func do(t *testing.T, c *http.Client, method, url string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, b
}

func getPage(t *testing.T, c *http.Client, method, url string, body []byte) *testPage {
	t.Helper()
	code, _, b := do(t, c, method, url, body, nil)
	if code != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, url, code, b)
	}
	var p testPage
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return &p
}

// walk follows next links from a first request exactly as stac-api-spec says, and returns
// every page.
func walk(t *testing.T, c *http.Client, method, url string, body map[string]json.RawMessage) []*testPage {
	t.Helper()
	var pages []*testPage
	for range 100 {
		var raw []byte
		if method == http.MethodPost {
			var err error
			if raw, err = json.Marshal(body); err != nil {
				t.Fatal(err)
			}
		}
		p := getPage(t, c, method, url, raw)
		pages = append(pages, p)
		n := p.next()
		if n == nil {
			return pages
		}
		method, url = n.Method, n.Href
		if method == "" {
			method = http.MethodGet
		}
		if method == http.MethodPost {
			if n.Merge != nil && *n.Merge {
				merged := maps.Clone(body)
				if merged == nil {
					merged = map[string]json.RawMessage{}
				}
				maps.Copy(merged, n.Body)
				body = merged
			} else {
				body = n.Body
			}
		}
	}
	t.Fatal("more than 100 pages")
	return nil
}

func rawJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptime(v string) *time.Time { return mustTime(v) }
