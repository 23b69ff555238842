package catalog

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stacfs/stacfs/remote"
)

// checkTree fails when a folder holds an unusable or duplicate name.
func checkTree(t *testing.T, n *Node) {
	seen := map[string]bool{}
	for _, c := range n.Children {
		if c.Name == "" || c.Name == "." || c.Name == ".." || len(c.Name) > 255 ||
			strings.ContainsAny(c.Name, "/\x00") || !utf8.ValidString(c.Name) {
			t.Fatalf("unusable name %q", c.Name)
		}
		if seen[c.Name] {
			t.Fatalf("duplicate name %q", c.Name)
		}
		seen[c.Name] = true
		if c.Dir {
			checkTree(t, c)
		}
	}
}

func FuzzLayout(f *testing.F) {
	f.Add("BIO_X", "enclosure", "https://h/d/BIO_X/BIO_X/measurement/a.tiff", "product", "https://h/zipper/BIO_X.zip", "q", "https://h/d/BIO_X/BIO_X/measurement")
	f.Add("..", "/", "https://h/../..", "\x00", "https://h/%2F%00", "item.json", "https://h/item.json")
	f.Add("\xff", "\xfe", "s3://b/\xff/x", "k", "https://h/"+strings.Repeat("é", 300), "k2", "https://h/a/b")
	f.Fuzz(func(t *testing.T, id, k1, h1, k2, h2, k3, h3 string) {
		it := remote.Item{ID: id, Raw: []byte("{}"), Assets: []remote.Asset{{Key: k1, Href: h1}, {Key: k2, Href: h2}, {Key: k3, Href: h3}}}
		if k1 == k2 || k2 == k3 || k1 == k3 {
			return // asset keys are unique in an item (a JSON object's keys)
		}
		tree := Layout(it)
		checkTree(t, tree)
		files := 0
		var count func(n *Node)
		count = func(n *Node) {
			for _, c := range n.Children {
				if c.Dir {
					count(c)
				} else {
					files++
				}
			}
		}
		count(tree)
		if files != 4 {
			t.Fatalf("%d files for 3 assets and item.json", files)
		}
		if !reflect.DeepEqual(paths(tree, ""), paths(Layout(it), "")) {
			t.Fatal("layout not stable")
		}
	})
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"a/b", "..", ".", "\x00", "\xff\xfe", strings.Repeat("日本", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		if got == "" {
			return
		}
		if got == "." || got == ".." || len(got) > 255 || strings.ContainsAny(got, "/\x00") || !utf8.ValidString(got) {
			t.Fatalf("Sanitize(%q) = %q", s, got)
		}
		if Sanitize(got) != got {
			t.Fatalf("Sanitize not idempotent on %q", s)
		}
	})
}
