package tests

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// TestZipItemListingNoRequest: `ls -l` of an item folder that holds zip
// products makes no request for them (the old code made one ranged GET per
// zip to tell whether it gets a folder): the zip whose size the item gives
// shows as its file and its folder; opening the folder reads the archive
// then. A zip without file:size shows its folder once its name is looked
// up (one request), and one its server cannot range never does.
func TestZipItemListingNoRequest(t *testing.T) {
	t.Parallel()
	requireTool(t, "ls")
	mod := time.Date(2024, 3, 5, 12, 34, 56, 0, time.UTC)
	product, err := fakestac.BuildZip([]fakestac.ZipEntry{{Name: "a/b.txt", Data: []byte("inside")}}, mod)
	if err != nil {
		t.Fatal(err)
	}
	srv := fakestac.New(fakestac.Options{})
	t.Cleanup(srv.Close)
	srv.AddCollection(fakestac.Collection{ID: "Z", Start: mod})
	srv.AddItem(fakestac.Item{ID: "it", Collection: "Z", Datetime: &mod, Assets: map[string]fakestac.Asset{
		"product": {Path: "/data/z/it/P1.zip", Content: product, Type: "application/zip", FileSize: true, Roles: []string{"data"}},
		"second":  {Path: "/data/z/it/P2.zip", Content: product, Type: "application/zip", FileSize: true, Roles: []string{"data"}},
	}})
	// Sizes not given: ls -l of this one needs them (requests).
	srv.AddItem(fakestac.Item{ID: "more", Collection: "Z", Datetime: &mod, Assets: map[string]fakestac.Asset{
		"sized": {Path: "/data/z/more/nosize.zip", Content: product, Type: "application/zip", Roles: []string{"data"}},
		"onfly": {Path: "/zipper/more.zip", Content: product, NoLength: true, Type: "application/zip"},
	}})
	m := startMount(t, configFor(srv, ""))
	item := filepath.Join(m.Dir, "Z/2024/03/05/it")
	if _, err := os.Stat(item); err != nil {
		t.Fatal(err)
	}
	assets := func() int {
		n := 0
		for _, r := range srv.Requests() {
			if strings.HasPrefix(r.Path, "/data/") || strings.HasPrefix(r.Path, "/zipper/") {
				n++
			}
		}
		return n
	}
	before := assets()
	cmd := exec.Command("ls", "-l", item)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ls -l: %v\n%s", err, out)
	}
	if n := assets() - before; n != 0 {
		t.Errorf("ls -l of the item folder made %d asset requests, want 0", n)
	}
	for _, want := range []string{" P1\n", " P1.zip\n", " P2\n", " P2.zip\n", " item.json\n"} {
		if !strings.Contains(string(out)+"\n", want) {
			t.Errorf("ls -l shows no %q:\n%s", strings.TrimSpace(want), out)
		}
	}

	// Opening a zip folder reads the archive (its stat and its end).
	if b, err := os.ReadFile(filepath.Join(item, "P1/a/b.txt")); err != nil || string(b) != "inside" {
		t.Errorf("P1/a/b.txt: %q, %v", b, err)
	}
	if srv.Count("/data/z/it/P1.zip") == 0 {
		t.Error("reading a member made no request for its archive")
	}
	// Zips without file:size: listed without folders; a folder by name
	// after one probe.
	more := filepath.Join(m.Dir, "Z/2024/03/05/more")
	if got := strings.Join(ls(t, more), " "); got != "item.json more.zip nosize.zip" {
		t.Errorf("ls of an item whose zips have no file:size: %s", got)
	}
	if b, err := os.ReadFile(filepath.Join(more, "nosize/a/b.txt")); err != nil || string(b) != "inside" {
		t.Errorf("nosize/a/b.txt: %q, %v", b, err)
	}
	// An archive built on the fly (no length, no Range) gets no folder.
	if _, err := os.Stat(filepath.Join(more, "more")); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("folder of an unrangeable zip: %v, want ENOENT", err)
	}
}
