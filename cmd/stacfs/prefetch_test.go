package main

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// TestPrefetchSkipsZipViews: the folder view of a zip (NAME, NAME.zip.d,
// NAME.d) is not walked, its zip file is; a real folder that took NAME is.
func TestPrefetchSkipsZipViews(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{
		"P.zip", "P/P.SAFE/manifest.safe", // P is P.zip's view
		"Q.zip", "Q/x.tif", "Q.zip.d/inner.xml", // Q is a real folder: the view is Q.zip.d
		"R", "R.d/member.txt", // a zip asset named R
		"S.d/plain.txt", // a folder that is no zip's view
	} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, f := range collectPrefetch([]string{root}, func(p string, err error) { t.Errorf("%s: %v", p, err) }) {
		rel, _ := filepath.Rel(root, f.path)
		got = append(got, rel)
	}
	sort.Strings(got)
	want := []string{"P.zip", "Q.zip", "Q/x.tif", "R", "S.d/plain.txt"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prefetch reads %q, want %q", got, want)
	}
}

// TestCollectPrefetchNoSymlinks: the walk reads regular files only and
// follows no symbolic link inside the folder it walks.
func TestCollectPrefetchNoSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "big"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "big"), filepath.Join(dir, "big")); err != nil {
		t.Fatal(err)
	}
	files := collectPrefetch([]string{dir}, func(p string, err error) { t.Errorf("%s: %v", p, err) })
	if len(files) != 1 || files[0].path != filepath.Join(dir, "a") || files[0].size != 5 {
		t.Errorf("files %+v, want only a (5 bytes)", files)
	}
}
