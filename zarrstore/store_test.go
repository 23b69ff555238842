package zarrstore

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// files is a store held in a map; it counts the keys asked for.
type files struct {
	m     map[string][]byte
	asked []string
}

func (f *files) get(_ context.Context, key string) ([]byte, bool, error) {
	f.asked = append(f.asked, key)
	b, ok := f.m[key]
	return b, ok, nil
}

func load(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func names(es []Entry) string {
	var out []string
	for _, e := range es {
		if e.Dir {
			out = append(out, e.Name+"/")
		} else {
			out = append(out, e.Name)
		}
	}
	return strings.Join(out, " ")
}

func TestListing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store map[string][]byte
		asked string
		dirs  map[string]string // folder -> listing; "!" for not a folder
	}{
		{
			name:  "v2 consolidated",
			store: map[string][]byte{".zmetadata": load(t, "v2.zmetadata")},
			asked: ".zmetadata",
			dirs: map[string]string{
				"":                        ".zattrs .zgroup .zmetadata measurements/ time/",
				"measurements":            ".zgroup r10m/",
				"measurements/r10m":       ".zgroup b04/ b08/",
				"measurements/r10m/b04":   ".zarray .zattrs 0.0 0.1 0.2 1.0 1.1 1.2",
				"measurements/r10m/b08":   ".zarray 0/ 1/",
				"measurements/r10m/b08/1": "0 1",
				"measurements/r10m/b08/2": "!",
				"measurements/r10m/b04/0": "!",
				"time":                    ".zarray 0",
				"evil":                    "!",
				"nope":                    "!",
			},
		},
		{
			name:  "v3 consolidated",
			store: map[string][]byte{"zarr.json": load(t, "v3.zarr.json")},
			asked: ".zmetadata zarr.json",
			dirs: map[string]string{
				"":                   "conditions/ quality/ scalar/ zarr.json",
				"conditions":         "sza/ zarr.json",
				"conditions/sza":     "c/ zarr.json",
				"conditions/sza/c":   "0/ 1/ 2/",
				"conditions/sza/c/2": "0",
				"conditions/sza/c/3": "!",
				"quality":            "0.0 1.0 zarr.json",
				"scalar":             "c zarr.json",
			},
		},
		{
			name: "v2 array at the root, not consolidated",
			store: map[string][]byte{
				".zarray": []byte(`{"shape": [10, 10], "chunks": [5, 10], "dtype": "<f4", "zarr_format": 2}`),
				".zattrs": []byte(`{}`),
			},
			asked: ".zmetadata zarr.json .zarray .zattrs",
			dirs:  map[string]string{"": ".zarray .zattrs 0.0 1.0"},
		},
		{
			name:  "v3 group without consolidated metadata",
			store: map[string][]byte{"zarr.json": []byte(`{"zarr_format": 3, "node_type": "group"}`)},
			asked: ".zmetadata zarr.json",
			dirs:  map[string]string{"": "zarr.json"},
		},
		{
			name:  "v2 group without consolidated metadata",
			store: map[string][]byte{".zgroup": []byte(`{"zarr_format": 2}`)},
			asked: ".zmetadata zarr.json .zarray .zgroup .zattrs",
			dirs:  map[string]string{"": ".zgroup"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &files{m: tc.store}
			s, err := Open(context.Background(), f.get)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(f.asked, " "); got != tc.asked {
				t.Errorf("asked for %q, want %q", got, tc.asked)
			}
			for dir, want := range tc.dirs {
				es, ok := s.List(dir)
				got := names(es)
				if !ok {
					got = "!"
				}
				if got != want {
					t.Errorf("List(%q) = %q, want %q", dir, got, want)
				}
			}
		})
	}
}

func TestNotAStore(t *testing.T) {
	f := &files{m: map[string][]byte{"data.bin": {1}}}
	if _, err := Open(context.Background(), f.get); !errors.Is(err, ErrNotStore) {
		t.Errorf("err %v, want ErrNotStore", err)
	}
}

func TestBadMetadata(t *testing.T) {
	for _, meta := range []string{
		`{"metadata": {"a/.zarray": {"shape": [10], "chunks": [0]}}}`,
		`{"metadata": {"a/.zarray": {"shape": [10, 2], "chunks": [1]}}}`,
		`{"metadata": {"a/.zarray": {"shape": [100000000, 100000000], "chunks": [1, 1]}}}`,
		`{"metadata": {"a/.zarray": {"shape": [9223372036854775807, 9223372036854775807, 4], "chunks": [1, 1, 1]}}}`,
		`not json`,
	} {
		f := &files{m: map[string][]byte{".zmetadata": []byte(meta)}}
		if _, err := Open(context.Background(), f.get); err == nil {
			t.Errorf("%s: no error", meta)
		}
	}
}

func TestArrays(t *testing.T) {
	f := &files{m: map[string][]byte{"zarr.json": load(t, "v3.zarr.json")}}
	s, err := Open(context.Background(), f.get)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range s.Arrays() {
		got = append(got, a.Path+":"+a.Prefix+a.Sep)
	}
	if want := []string{"conditions/sza:c/", "quality:.", "scalar:c/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("arrays %q, want %q", got, want)
	}
}
