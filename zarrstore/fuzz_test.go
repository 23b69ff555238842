package zarrstore

import (
	"context"
	"os"
	"testing"
)

// FuzzOpen: any consolidated metadata opens or fails without panicking,
// and every folder it shows lists.
func FuzzOpen(f *testing.F) {
	for _, name := range []string{"v2.zmetadata", "v3.zarr.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(name == "v3.zarr.json", b)
	}
	f.Fuzz(func(t *testing.T, v3 bool, b []byte) {
		key := ".zmetadata"
		if v3 {
			key = "zarr.json"
		}
		s, err := Open(context.Background(), func(_ context.Context, k string) ([]byte, bool, error) {
			if k == key {
				return b, true, nil
			}
			return nil, false, nil
		})
		if err != nil {
			return
		}
		for _, a := range s.Arrays() {
			n := int64(1)
			for i := range a.Shape {
				n *= a.grid(i)
			}
			if n > 10000 {
				return // listable (bounded by maxChunks), but slow to fuzz
			}
		}
		var walk func(dir string, depth int)
		walk = func(dir string, depth int) {
			es, ok := s.List(dir)
			if !ok {
				t.Fatalf("folder %q shown but not listable", dir)
			}
			if depth > 4 {
				return
			}
			for i, e := range es {
				if e.Dir && i < 3 {
					sub := e.Name
					if dir != "" {
						sub = dir + "/" + e.Name
					}
					walk(sub, depth+1)
				}
			}
		}
		walk("", 0)
	})
}
