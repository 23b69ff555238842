package catalog

import (
	"sort"
	"strings"
)

// PathNode is a folder or file of a tree built from slash-separated paths
// (an archive's members, a store's keys).
type PathNode struct {
	Name     string
	Dir      bool
	Children []*PathNode // folders only, sorted by Name
	Index    int         // the index of the path it stands for; -1 for a folder no path names
}

// PathTree builds the folder tree of n paths; path(i) gives path i and
// whether it is a folder. Names are sanitised as asset names are (Sanitize): empty and
// "." segments are dropped, "..", "/" and NUL cannot escape or hide, and a
// name taken twice in one folder gets a "~N" suffix.
func PathTree(n int, path func(i int) (string, bool)) *PathNode {
	root := &ptDir{node: &PathNode{Dir: true, Index: -1}}
	for i := range n {
		p, isDir := path(i)
		var segs []string
		for _, s := range strings.Split(p, "/") {
			if s != "" && s != "." {
				segs = append(segs, s)
			}
		}
		if len(segs) == 0 {
			if isDir {
				continue // the archive's root
			}
			segs = []string{"_"}
		}
		d := root
		for _, s := range segs[:len(segs)-1] {
			d = d.sub(s)
		}
		last := segs[len(segs)-1]
		if isDir {
			d.sub(last).node.Index = i
			continue
		}
		d.add(&PathNode{Name: d.names().take(last, "_"), Index: i})
	}
	root.sort()
	return root.node
}

// Find returns the folder or file at the given names below n, or nil.
func (n *PathNode) Find(names []string) *PathNode {
	for _, name := range names {
		i := sort.Search(len(n.Children), func(i int) bool { return n.Children[i].Name >= name })
		if i == len(n.Children) || n.Children[i].Name != name {
			return nil
		}
		n = n.Children[i]
	}
	return n
}

// ptDir is a folder being built: its sub-folders by the segment they were
// made for.
type ptDir struct {
	node  *PathNode
	taken uniqueNames
	dirs  map[string]*ptDir
}

func (d *ptDir) names() uniqueNames {
	if d.taken == nil {
		d.taken = uniqueNames{}
	}
	return d.taken
}

func (d *ptDir) add(n *PathNode) { d.node.Children = append(d.node.Children, n) }

// sub returns the folder made for segment s, making it.
func (d *ptDir) sub(s string) *ptDir {
	if sd, ok := d.dirs[s]; ok {
		return sd
	}
	if d.dirs == nil {
		d.dirs = map[string]*ptDir{}
	}
	sd := &ptDir{node: &PathNode{Name: d.names().take(s, "_"), Dir: true, Index: -1}}
	d.dirs[s] = sd
	d.add(sd.node)
	return sd
}

func (d *ptDir) sort() {
	sort.Slice(d.node.Children, func(i, j int) bool { return d.node.Children[i].Name < d.node.Children[j].Name })
	for _, sd := range d.dirs {
		sd.sort()
	}
}
