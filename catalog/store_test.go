package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stacfs/stacfs/remote"
)

// keyServer answers ReadHead for the keys of one store: those it has, else
// missing (404, or 403 as buckets that cannot be listed answer).
type keyServer struct {
	keys    map[string]string
	missing error
	asked   []string
}

func (k *keyServer) ReadHead(_ context.Context, url string, n int) ([]byte, remote.Info, error) {
	key, query, _ := strings.Cut(url[strings.Index(url, ".zarr/")+len(".zarr/"):], "?")
	if query != "sig=1" {
		return nil, remote.Info{}, fmt.Errorf("GET %s: signature lost: %w", url, remote.ErrDenied)
	}
	k.asked = append(k.asked, fmt.Sprintf("%s %d", key, n))
	v, ok := k.keys[key]
	if !ok {
		return nil, remote.Info{}, fmt.Errorf("GET %s: %w", url, k.missing)
	}
	return []byte(v), remote.Info{Size: int64(len(v)), Ranges: true}, nil
}

func (k *keyServer) ReadAt(context.Context, string, []byte, int64, string) (int, error) {
	return 0, errors.New("not used")
}

func TestStore(t *testing.T) {
	zarrJSON := `{"zarr_format": 3, "node_type": "group", "consolidated_metadata": {"kind": "inline", "metadata": {
		"b04": {"zarr_format": 3, "node_type": "array", "shape": [4], "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}}}}}}`
	for _, tc := range []struct {
		name    string
		keys    map[string]string
		missing error
		want    string // root listing, or the error's errno-relevant kind
	}{
		{"v3 on a server answering 404", map[string]string{"zarr.json": zarrJSON}, remote.ErrNotFound, "b04/ zarr.json"},
		{"v3 on a bucket answering 403", map[string]string{"zarr.json": zarrJSON}, remote.ErrDenied, "b04/ zarr.json"},
		{"nothing readable: 403 is the error", nil, remote.ErrDenied, "denied"},
		{"nothing there", nil, remote.ErrNotFound, "not a store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks := &keyServer{keys: tc.keys, missing: tc.missing}
			c := New(&fakeSource{}, ks, Options{})
			it := &Item{Item: remote.Item{ID: "P", Collection: "C"}}
			a := &remote.Asset{Key: "product", Href: "https://objects.example/b/P.zarr?sig=1", Type: "application/vnd+zarr", Size: -1}
			s, err := c.Store(context.Background(), it, a)
			var got string
			switch {
			case errors.Is(err, remote.ErrDenied):
				got = "denied"
			case err != nil && strings.Contains(err.Error(), "no Zarr metadata"):
				got = "not a store"
			case err != nil:
				t.Fatal(err)
			default:
				es, _ := s.List("")
				var names []string
				for _, e := range es {
					if e.Dir {
						e.Name += "/"
					}
					names = append(names, e.Name)
				}
				got = strings.Join(names, " ")
			}
			if got != tc.want {
				t.Errorf("got %q, want %q (asked %v)", got, tc.want, ks.asked)
			}
		})
	}
	// A key reads as an asset of its own: href/key with the query kept,
	// and a stat head of a whole chunk.
	c := New(&fakeSource{}, &keyServer{}, Options{})
	it := &Item{Item: remote.Item{ID: "P", Collection: "C"}}
	ka, err := c.StoreKey(it, &remote.Asset{Key: "product", Href: "https://objects.example/b/P.zarr/?sig=1"}, "b04/c/1")
	if err != nil {
		t.Fatal(err)
	}
	if ka.Href != "https://objects.example/b/P.zarr/b04/c/1?sig=1" || ka.Key != "product/b04/c/1" || c.headSizeOf(ka) != storeKeyHead {
		t.Errorf("store key asset %+v, head %d", ka, c.headSizeOf(ka))
	}
}

// TestStoreDeniesMissing: a store answers 403 for a missing key when it
// answers so for a key no store holds; asked once per store; a failure of
// that request is an error, not an answer.
func TestStoreDeniesMissing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		missing error
		want    bool
		wantErr bool
	}{
		{"404 for a missing key", remote.ErrNotFound, false, false},
		{"403 for a missing key", remote.ErrDenied, true, false},
		{"server down", &remote.StatusError{Code: 503}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks := &keyServer{missing: tc.missing}
			c := New(&fakeSource{}, ks, Options{})
			it := &Item{Item: remote.Item{ID: "P", Collection: "C"}}
			a := &remote.Asset{Key: "product", Href: "https://objects.example/b/P.zarr?sig=1", Type: "application/vnd+zarr", Size: -1}
			for range 2 {
				got, err := c.StoreDeniesMissing(context.Background(), it, a)
				if got != tc.want || (err != nil) != tc.wantErr {
					t.Fatalf("StoreDeniesMissing = %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
				}
			}
			if len(ks.asked) != 1 || !strings.HasPrefix(ks.asked[0], absentStoreKey+" ") {
				t.Errorf("asked %q, want %s once", ks.asked, absentStoreKey)
			}
		})
	}
}
