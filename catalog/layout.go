package catalog

import (
	"net/url"
	"sort"
	"strings"

	"github.com/stacfs/stacfs/remote"
)

// ItemJSON is the name of the file that holds an item as the API returned it.
const ItemJSON = "item.json"

// Node is an entry of an item folder: a sub-folder or a file.
type Node struct {
	Name     string
	Dir      bool
	Children []*Node // folders only, sorted by Name

	// Files only: exactly one of Asset and Doc is set.
	Asset *remote.Asset
	Doc   *Doc

	// Container folders (see IsZip, IsZarr): the zip asset whose members
	// the folder holds, or the Zarr store whose keys it holds.
	Archive, Store *remote.Asset
}

// Child returns the child called name, or nil.
func (n *Node) Child(name string) *Node {
	i := sort.Search(len(n.Children), func(i int) bool { return n.Children[i].Name >= name })
	if i < len(n.Children) && n.Children[i].Name == name {
		return n.Children[i]
	}
	return nil
}

// Layout builds the folder of one item: item.json plus its asset files,
// keeping the product's own folder layout.
//
// Each asset's path is the part of its href below the product folder: the
// last folder whose name starts with the item id, chosen by most assets
// (failing that, the folder all hrefs share). An asset outside that folder,
// or the only asset of an item, shows by its file name. An unusable name or
// a collision falls back to the asset key. The result depends only on the
// item, so names are stable across listings.
func Layout(it remote.Item) *Node {
	assets := append([]remote.Asset(nil), it.Assets...)
	sort.Slice(assets, func(i, j int) bool { return assets[i].Key < assets[j].Key })

	paths := make([][]string, len(assets))
	for i, a := range assets {
		paths[i] = hrefPath(a.Href)
		if name := odataName(it.ID, a, paths[i]); name != "" {
			paths[i] = []string{name}
		}
	}
	prefix := productPrefix(it.ID, assets, paths)

	b := newBuilder()
	b.root.names[ItemJSON] = true
	b.root.files[ItemJSON] = &Node{Name: ItemJSON, Doc: MemDoc(it.Raw)}
	var fallback []int
	for i, a := range assets {
		rel := relPath(prefix, a.Href, paths[i], len(assets))
		if !b.place(rel, &assets[i]) {
			fallback = append(fallback, i)
		}
	}
	for _, i := range fallback {
		name := b.root.names.take(assets[i].Key, lastSeg(paths[i]))
		b.root.files[name] = &Node{Name: name, Asset: &assets[i]}
	}
	root := b.root.node("")
	addContainers(root)
	return root
}

// prefixKey identifies a folder: the href's origin plus its path segments.
type prefixKey struct {
	origin string
	segs   []string
}

// hrefPath returns the decoded, non-empty path segments of an href.
func hrefPath(href string) []string {
	u, err := url.Parse(href)
	p := href
	if err == nil {
		p = u.Path
	}
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}

func origin(href string) string {
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// odataName names an OData media resource (CDSE's .../Products(uuid)/$value
// and .../Nodes(name)/$value), whose last segment says nothing: the node's
// name, for a whole product the item id with the extension of its media
// type, else the asset key. "" when the href is not one.
func odataName(id string, a remote.Asset, segs []string) string {
	if len(segs) < 2 || segs[len(segs)-1] != "$value" {
		return ""
	}
	prev := segs[len(segs)-2]
	if inner, ok := strings.CutPrefix(prev, "Nodes("); ok && strings.HasSuffix(inner, ")") {
		return strings.TrimSuffix(inner, ")")
	}
	if !strings.HasPrefix(prev, "Products(") || id == "" {
		return a.Key
	}
	if IsZip(&a) {
		return id + ".zip"
	}
	return id
}

func lastSeg(segs []string) string {
	if len(segs) == 0 {
		return ""
	}
	return segs[len(segs)-1]
}

// productPrefix finds the item's product folder.
func productPrefix(id string, assets []remote.Asset, paths [][]string) *prefixKey {
	if len(assets) < 2 {
		return nil
	}
	type cand struct {
		k     prefixKey
		count int
	}
	var cands []*cand
	for i, segs := range paths {
		for j := len(segs) - 2; j >= 0; j-- {
			if id != "" && strings.HasPrefix(segs[j], id) {
				k := prefixKey{origin(assets[i].Href), segs[:j+1]}
				found := false
				for _, c := range cands {
					if c.k.origin == k.origin && equalSegs(c.k.segs, k.segs) {
						c.count++
						found = true
					}
				}
				if !found {
					cands = append(cands, &cand{k, 1})
				}
				break
			}
		}
	}
	var best *cand
	for _, c := range cands {
		if best == nil || c.count > best.count || (c.count == best.count && len(c.k.segs) > len(best.k.segs)) {
			best = c
		}
	}
	if best != nil {
		return &best.k
	}
	// No folder named after the item: the folder all hrefs share, if any.
	o := origin(assets[0].Href)
	common := paths[0]
	if len(common) > 0 {
		common = common[:len(common)-1]
	}
	for i, segs := range paths[1:] {
		if origin(assets[i+1].Href) != o || len(segs) == 0 {
			return nil
		}
		dir := segs[:len(segs)-1]
		n := 0
		for n < len(common) && n < len(dir) && common[n] == dir[n] {
			n++
		}
		common = common[:n]
	}
	if len(common) == 0 {
		return nil
	}
	return &prefixKey{o, common}
}

func equalSegs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// relPath is where an asset shows inside the item folder.
func relPath(prefix *prefixKey, href string, segs []string, n int) []string {
	if len(segs) == 0 {
		return nil
	}
	if prefix != nil && n > 1 && origin(href) == prefix.origin &&
		len(segs) > len(prefix.segs) && equalSegs(segs[:len(prefix.segs)], prefix.segs) {
		return segs[len(prefix.segs):]
	}
	return segs[len(segs)-1:]
}

// builder assembles a folder tree, refusing collisions.
type builder struct{ root *bdir }

type bdir struct {
	names uniqueNames
	dirs  map[string]*bdir
	files map[string]*Node
}

func newBuilder() *builder { return &builder{root: newBdir()} }

func newBdir() *bdir {
	return &bdir{names: uniqueNames{}, dirs: map[string]*bdir{}, files: map[string]*Node{}}
}

// place puts asset a at rel; false when a name is unusable or taken.
func (b *builder) place(rel []string, a *remote.Asset) bool {
	if len(rel) == 0 {
		return false
	}
	for _, s := range rel {
		if Sanitize(s) != s {
			return false
		}
	}
	d := b.root
	for _, s := range rel[:len(rel)-1] {
		if _, isFile := d.files[s]; isFile {
			return false
		}
		sub, ok := d.dirs[s]
		if !ok {
			sub = newBdir()
			d.dirs[s] = sub
			d.names[s] = true
		}
		d = sub
	}
	name := rel[len(rel)-1]
	if d.names[name] {
		return false
	}
	d.names[name] = true
	d.files[name] = &Node{Name: name, Asset: a}
	return true
}

func (d *bdir) node(name string) *Node {
	n := &Node{Name: name, Dir: true}
	for sub, bd := range d.dirs {
		n.Children = append(n.Children, bd.node(sub))
	}
	for _, f := range d.files {
		n.Children = append(n.Children, f)
	}
	sort.Slice(n.Children, func(i, j int) bool { return n.Children[i].Name < n.Children[j].Name })
	return n
}
