package remote

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReadHead(t *testing.T) {
	data := ramp(300000, 7)
	cases := []struct {
		name      string
		handler   http.HandlerFunc
		n         int
		wantLen   int
		wantSize  int64
		wantRange bool
		wantETag  string
	}{
		{"ranged", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v1"`)
			http.ServeContent(w, r, "x", time.Unix(0, 0), bytes.NewReader(data))
		}, 65536, 65536, int64(len(data)), true, `"v1"`},
		{"object smaller than the head", func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "x", time.Unix(0, 0), bytes.NewReader(data[:100]))
		}, 65536, 100, 100, true, ""},
		{"range ignored, with length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "300000")
			w.Write(data)
		}, 65536, 65536, int64(len(data)), false, ""},
		{"range ignored, no length (chunked)", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			w.Write(data[:1000])
		}, 65536, 1000, -1, false, ""},
		{"empty object", func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "x", time.Unix(0, 0), bytes.NewReader(nil))
		}, 65536, 0, 0, false, ""}, // ServeContent answers 200 for an empty object
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			got, info, err := (&Client{}).ReadHead(context.Background(), srv.URL+"/a?sig=secret", c.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.wantLen || !bytes.Equal(got, data[:len(got)]) {
				t.Errorf("got %d bytes, want %d of the object's head", len(got), c.wantLen)
			}
			if info.Size != c.wantSize || info.Ranges != c.wantRange || info.ETag != c.wantETag {
				t.Errorf("info %+v, want size %d ranges %v etag %s", info, c.wantSize, c.wantRange, c.wantETag)
			}
		})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 404) }))
	defer srv.Close()
	_, _, err := (&Client{}).ReadHead(context.Background(), srv.URL+"/a?sig=secret", 10)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("404: %v", err)
	}
}
