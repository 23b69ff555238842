package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stacfs/stacfs/fakestac"
)

// TestSizesForTar: tar stores st_size bytes. A file whose server gives its
// length without Range (Content-Length of the GET) has its size at the
// first stat; so does a stream without length (chunked, as a zip built on
// the fly), learnt by downloading it on that stat (streams_test.go has
// each tool): tar gets both whole without a prefetch step.
func TestSizesForTar(t *testing.T) {
	t.Parallel()
	requireTool(t, "tar")
	f := newFixture(t, fakestac.Options{})
	f.srv.AddItem(fakestac.Item{ID: "S2_norange", Collection: "S2", Datetime: ts("2023-03-16T10:00:00Z"),
		Assets: map[string]fakestac.Asset{"B02": {Path: "/data/s2/S2_norange/B02.tif", Size: 70000, Seed: 9, NoRange: true}}})
	m := startMount(t, configFor(f.srv, ""))
	noRange := filepath.Join(m.Dir, "S2/2023/03/16/S2_norange/B02.tif")
	if fi, err := os.Stat(noRange); err != nil || fi.Size() != 70000 {
		t.Errorf("server without Range, with Content-Length: %s, want size 70000 at the first stat", statSize(fi, err))
	}
	zip := filepath.Join(m.Dir, "EOP:ESA:BIO/2023/05/05/BIO_L1B_0505/BIO_L1B_0505.zip")
	if fi, err := os.Stat(zip); err != nil || fi.Size() != 9000 {
		t.Errorf("stream without length: %s, want size 9000 at the first stat", statSize(fi, err))
	}
	tarball := filepath.Join(t.TempDir(), "p.tar")
	run(t, "tar", "-cf", tarball, "-C", filepath.Dir(zip), filepath.Base(zip), "-C", filepath.Dir(noRange), filepath.Base(noRange))
	list := run(t, "tar", "-tvf", tarball)
	if !strings.Contains(list, " 9000 ") || !strings.Contains(list, " 70000 ") {
		t.Errorf("tar stored:\n%s\nwant the zip's 9000 bytes and B02.tif's 70000", list)
	}
}
