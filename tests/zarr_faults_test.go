package tests

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// writeBands writes a Zarr v2 store (consolidated) of three 200x300 bands
// in 2x3 chunks of 100x100: b02 all 2.0, b04 all 4.0, b08 all 1.0.
const writeBands = `
import sys, numpy as np, xarray as xr
ds = xr.Dataset({b: (("y", "x"), np.full((200, 300), v, "float32")) for b, v in (("b02", 2.0), ("b04", 4.0), ("b08", 1.0))})
ds.chunk({"y": 100, "x": 100}).to_zarr(sys.argv[1], consolidated=True, mode="w")
`

// readBands reads each band of the store with xarray, whole and chunk by
// chunk, and prints what it got: per band, the error raised reading it
// whole (or its count of NaN and its sum), and per chunk the same.
const readBands = `
import sys, json, numpy as np, xarray as xr
ds = xr.open_zarr(sys.argv[1])
def get(a):
    try:
        v = a.values
    except Exception as e:
        return {"error": type(e).__name__ + ": " + str(e)}
    return {"nan": int(np.isnan(v).sum()), "sum": float(np.nansum(v))}
out = {}
for b in ("b02", "b04", "b08"):
    out[b] = get(ds[b])
    for i in range(2):
        for j in range(3):
            out[b + "/%d.%d" % (i, j)] = get(ds[b][i*100:(i+1)*100, j*100:(j+1)*100])
print(json.dumps(out))
`

type bandRead struct {
	Error string  `json:"error"`
	NaN   int     `json:"nan"`
	Sum   float64 `json:"sum"`
}

// failedKeySize is the size shown for a failing Zarr key (fs/zarrdir.go).
const failedKeySize = 1

// TestZarrChunkFaults: a chunk whose request fails (503, a reset
// connection, a 403 from a store that answers 404 for a missing key) makes
// xarray raise, never fill it (a stat error reads to zarr as a missing
// chunk); the other chunks read right; a chunk the server does not have
// (404, or 403 from a store that answers 403 for every missing key) is the
// fill value. Each failure is an ERROR naming the store and the chunk;
// once the server answers, the chunks read.
func TestZarrChunkFaults(t *testing.T) {
	t.Parallel()
	requireZarr(t)
	local := filepath.Join(t.TempDir(), "bands.zarr")
	run(t, "/usr/bin/python3", "-c", writeBands, local)
	if err := os.Remove(filepath.Join(local, "b02", "1.2")); err != nil { // at the fill value
		t.Fatal(err)
	}
	mod := time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)
	srv := fakestac.New(fakestac.Options{})
	t.Cleanup(srv.Close)
	const open, closed = "/open/store.zarr", "/closed/store2.zarr" // closed answers 403 for a missing key
	for _, p := range []string{open, closed} {
		if _, err := srv.AddStore(p, local); err != nil {
			t.Fatal(err)
		}
	}
	srv.AddCollection(fakestac.Collection{ID: "Z", Start: mod})
	srv.AddItem(fakestac.Item{ID: "P", Collection: "Z", Datetime: &mod, Assets: map[string]fakestac.Asset{
		"open":   {Href: srv.Href(open), Type: "application/vnd+zarr"},
		"closed": {Href: srv.Href(closed), Type: "application/vnd+zarr"},
	}})
	var mu sync.Mutex
	down := true
	srv.SetFault(func(r *http.Request) *fakestac.Fault {
		mu.Lock()
		defer mu.Unlock()
		key, ok := strings.CutPrefix(r.URL.Path, closed+"/")
		if ok {
			if _, err := os.Stat(filepath.Join(local, key)); err != nil {
				return &fakestac.Fault{Status: http.StatusForbidden}
			}
		}
		if !down {
			return nil
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/b08/0.1"):
			return &fakestac.Fault{Status: http.StatusServiceUnavailable}
		case strings.HasSuffix(r.URL.Path, "/b08/1.1") && !ok:
			return &fakestac.Fault{Status: http.StatusForbidden}
		case strings.HasSuffix(r.URL.Path, "/b04/0.2"):
			return &fakestac.Fault{Reset: true}
		}
		return nil
	})
	cfg := "[network]\nretry_budget = \"2s\"\n\n" + configFor(srv, "")
	m := startMount(t, cfg)
	item := filepath.Join(m.Dir, "Z/2024/03/05/P")
	read := func(store string) map[string]bandRead {
		t.Helper()
		var got map[string]bandRead
		out := run(t, "/usr/bin/python3", "-c", readBands, filepath.Join(item, store))
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("xarray: %v: %s", err, out)
		}
		return got
	}
	const chunk = 100 * 100
	check := func(what string, got map[string]bandRead, failing map[string]bool) {
		t.Helper()
		for _, b := range []struct {
			name string
			v    float64
		}{{"b02", 2}, {"b04", 4}, {"b08", 1}} {
			anyFailing, missing := false, 0
			for i := range 2 {
				for j := range 3 {
					k := b.name + "/" + string(rune('0'+i)) + "." + string(rune('0'+j))
					g := got[k]
					switch {
					case failing[k]:
						anyFailing = true
						if g.Error == "" || !strings.Contains(g.Error, "Input/output error") && !strings.Contains(g.Error, "Permission denied") {
							t.Errorf("%s: chunk %s read %+v, want an OSError (EIO or EACCES)", what, k, g)
						}
					case k == "b02/1.2":
						missing++
						if g.Error != "" || g.NaN != chunk {
							t.Errorf("%s: missing chunk %s read %+v, want %d NaN (the fill value)", what, k, g, chunk)
						}
					case g.Error != "" || g.NaN != 0 || g.Sum != b.v*chunk:
						t.Errorf("%s: chunk %s read %+v, want %d values of %v", what, k, g, chunk, b.v)
					}
				}
			}
			g := got[b.name]
			if anyFailing {
				if g.Error == "" {
					t.Errorf("%s: %s read whole gave %+v with no error, want an OSError", what, b.name, g)
				}
			} else if g.Error != "" || g.NaN != missing*chunk || g.Sum != b.v*float64(6-missing)*chunk {
				t.Errorf("%s: %s read whole: %+v", what, b.name, g)
			}
		}
	}
	failing := map[string]bool{"b08/0.1": true, "b08/1.1": true, "b04/0.2": true}
	check("store.zarr", read("store.zarr"), failing)
	// A store that answers 403 for a missing key: a 403 is a missing chunk.
	check("store2.zarr", read("store2.zarr"), map[string]bool{"b08/0.1": true, "b04/0.2": true})
	if _, ok := m.logged("ERROR", "zarr key unreadable", "store=open", "key=b08/0.1", "errno=\"input/output error\""); !ok {
		t.Errorf("no ERROR naming the store and the chunk b08/0.1")
	}
	if _, ok := m.logged("ERROR", "zarr key unreadable", "store=open", "key=b08/1.1", "errno=\"permission denied\""); !ok {
		t.Errorf("no ERROR naming the store and the chunk b08/1.1")
	}

	// What other tools see of a failing chunk: a file of size 1 (not 0:
	// tar would archive it without opening it) whose read fails.
	chunkPath := filepath.Join(item, "store.zarr", "b08", "0.1")
	if fi, err := os.Stat(chunkPath); err != nil || fi.Size() != 1 {
		t.Errorf("stat of the failing chunk: %v, %v; want size 1", fi, err)
	}
	if _, err := os.ReadFile(chunkPath); !errors.Is(err, syscall.EIO) {
		t.Errorf("read of the failing chunk: %v, want EIO", err)
	}
	if _, err := os.Stat(filepath.Join(item, "store.zarr", "b02", "1.2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of the missing chunk: %v, want ENOENT", err)
	}

	// cp -r and tar copy the other keys and fail on it, exiting non-zero.
	dst := filepath.Join(t.TempDir(), "copy")
	out, err := exec.Command("cp", "-r", filepath.Join(item, "store.zarr"), dst).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "b08/0.1") || !strings.Contains(string(out), "Input/output error") {
		t.Errorf("cp -r of the store: %v %s, want a failure naming b08/0.1", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "b08", "0.0")); err != nil || len(b) == 0 {
		t.Errorf("cp -r did not copy the good chunk b08/0.0: %v", err)
	}
	out, err = exec.Command("tar", "-cf", filepath.Join(t.TempDir(), "s.tar"), "-C", item, "store.zarr").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "b08/0.1") {
		t.Errorf("tar of the store: %v %s, want a failure naming b08/0.1", err, out)
	}

	mu.Lock()
	down = false
	mu.Unlock()
	time.Sleep(2100 * time.Millisecond) // failures are remembered for 2 s
	check("store.zarr after the outage", read("store.zarr"), nil)
	if fi, err := os.Stat(chunkPath); err != nil || fi.Size() <= failedKeySize {
		t.Errorf("stat of the chunk after the outage: %v, %v; want its size, not the placeholder", fi, err)
	}
}
