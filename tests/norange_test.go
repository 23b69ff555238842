package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stacfs/stacfs/fakestac"
)

// TestNoRangeReadOnce: a file whose server ignores Range (200 with the
// whole body to every ranged GET) is read once, front to back: cp (two at once) costs
// about one download, not one growing download per block (each ranged GET
// at offset X would bring X+len bytes), and random reads after it, with
// another tool, fetch nothing.
func TestNoRangeReadOnce(t *testing.T) {
	t.Parallel()
	requireTool(t, "cp")
	const size = 32 << 20
	f := newFixture(t, fakestac.Options{})
	path := "/data/s2/S2_wholeonly/B08.tif"
	f.srv.AddItem(fakestac.Item{ID: "S2_wholeonly", Collection: "S2", Datetime: ts("2023-03-17T10:00:00Z"),
		Assets: map[string]fakestac.Asset{"B08": {Path: path, Size: size, Seed: 11, NoRange: true}}})
	m := startMount(t, configFor(f.srv, ""))
	file := filepath.Join(m.Dir, "S2/2023/03/17/S2_wholeonly/B08.tif")
	// Two copies at once share the one download.
	dir := t.TempDir()
	run(t, "sh", "-c", `cp "$1" "$2/a" & cp "$1" "$2/b"; wait`, "sh", file, dir)
	for _, name := range []string{"a", "b"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if want := fakestac.RampBytes(11, 0, size); !bytes.Equal(got, want) {
			t.Fatalf("cp copied %d bytes that differ from the server's %d", len(got), len(want))
		}
	}
	reqs, served := f.srv.Count(path), f.srv.BytesServed(path)
	t.Logf("two cp of a %d-byte file without Range: %d requests, %d bytes served (%.2f×)", size, reqs, served, float64(served)/size)
	// The stat's ranged GET (answered whole, abandoned after its head:
	// what the server wrote meanwhile is lost) and the one stream.
	streams := 0
	for _, r := range f.srv.Requests() {
		if r.Path == path && r.Range == "" {
			streams++
		}
	}
	if streams != 1 || served > size*3/2 || reqs > 3 {
		t.Errorf("two cp of a %d-byte file without Range: %d requests (%d without Range), %d bytes served (%.1f×), want one stream, about 1× in at most 3 requests",
			size, reqs, streams, served, float64(served)/size)
	}
	// Random reads (dd of a middle block, tail) after the copy: from what
	// was read, no request.
	before := f.srv.Count(path)
	out := run(t, "dd", "if="+file, "bs=4096", "skip=1000", "count=2", "status=none")
	if want := fakestac.RampBytes(11, 1000*4096, 2*4096); out != string(want) {
		t.Errorf("dd skip=1000: got %d bytes that differ from the server's", len(out))
	}
	out = run(t, "tail", "-c", "100", file)
	if want := fakestac.RampBytes(11, size-100, 100); out != string(want) {
		t.Errorf("tail -c 100: got %d bytes that differ from the server's", len(out))
	}
	if n := f.srv.Count(path) - before; n != 0 {
		t.Errorf("random reads after cp made %d requests, want 0", n)
	}
}

// TestNoRangeCOG: GDAL reads a COG whose server ignores Range, by the one
// stream, as it reads the same file locally.
func TestNoRangeCOG(t *testing.T) {
	t.Parallel()
	requireTool(t, "gdalinfo")
	_, local, _ := demoCOG(t)
	data, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fakestac.Options{})
	path := "/data/s2/S2_cogwhole/B04.tif"
	f.srv.AddItem(fakestac.Item{ID: "S2_cogwhole", Collection: "S2", Datetime: ts("2023-03-18T10:00:00Z"),
		Assets: map[string]fakestac.Asset{"B04": {Path: path, Content: data, NoRange: true, Type: "image/tiff; application=geotiff; profile=cloud-optimized"}}})
	m := startMount(t, configFor(f.srv, ""))
	mounted := filepath.Join(m.Dir, "S2/2023/03/18/S2_cogwhole/B04.tif")
	got := withoutPaths(run(t, "gdalinfo", "-checksum", mounted), mounted)
	want := withoutPaths(run(t, "gdalinfo", "-checksum", local), local)
	if got != want {
		t.Errorf("gdalinfo differs:\n--- mounted\n%s\n--- local\n%s", got, want)
	}
	if served := f.srv.BytesServed(path); served > 2*int64(len(data)) {
		t.Errorf("gdalinfo -checksum of a %d-byte COG without Range: %d bytes served, want about 1×", len(data), served)
	}
}
