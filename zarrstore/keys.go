package zarrstore

import (
	"path"
	"sort"
	"strconv"
	"strings"
)

// Entry is a name in a store's folder.
type Entry struct {
	Name string
	Dir  bool
}

// part is one element of a chunk key: a literal ("c", or "0" for a v2
// zero-dimensional array) or the chunk index along a dimension.
type part struct {
	lit string
	dim int // when lit == ""
}

// parts returns the elements of the array's chunk keys, in order.
func (a *Array) parts() []part {
	var ps []part
	if a.Prefix != "" {
		ps = append(ps, part{lit: a.Prefix})
	}
	for i := range a.Shape {
		ps = append(ps, part{dim: i})
	}
	if len(ps) == 0 {
		ps = append(ps, part{lit: "0"})
	}
	return ps
}

// values returns the names part p takes.
func (a *Array) values(p part) []string {
	if p.lit != "" {
		return []string{p.lit}
	}
	n := a.grid(p.dim)
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.FormatInt(int64(i), 10)
	}
	return out
}

// match reports whether name is a value of part p.
func (a *Array) match(p part, name string) bool {
	if p.lit != "" {
		return name == p.lit
	}
	i, err := strconv.ParseInt(name, 10, 64)
	return err == nil && i >= 0 && i < a.grid(p.dim) && strconv.FormatInt(i, 10) == name
}

// chunkEntries returns the chunk-key entries of folder rel below the
// array's folder (rel == nil: the array's folder), and whether rel is a
// folder of its chunk keys.
func (a *Array) chunkEntries(rel []string) ([]Entry, bool) {
	ps := a.parts()
	if a.Sep != "/" {
		if len(rel) > 0 {
			return nil, false
		}
		// All keys are names in the array's folder: i.j.k (c.i.j.k).
		names := []string{""}
		for k, p := range ps {
			var next []string
			for _, pre := range names {
				for _, v := range a.values(p) {
					if k > 0 {
						next = append(next, pre+a.Sep+v)
					} else {
						next = append(next, v)
					}
				}
			}
			names = next
		}
		out := make([]Entry, len(names))
		for i, n := range names {
			out[i] = Entry{Name: n}
		}
		return out, true
	}
	if len(rel) >= len(ps) {
		return nil, false
	}
	for k, name := range rel {
		if !a.match(ps[k], name) {
			return nil, false
		}
	}
	p := ps[len(rel)]
	dir := len(rel) < len(ps)-1
	var out []Entry
	for _, v := range a.values(p) {
		out = append(out, Entry{Name: v, Dir: dir})
	}
	return out, true
}

// List returns the entries of the store's folder dir ("" for the root,
// else a slash path), sorted by name, and whether dir is a folder of the
// store.
func (s *Store) List(dir string) ([]Entry, bool) {
	dir = strings.Trim(dir, "/")
	found := s.dirs[dir]
	seen := map[string]Entry{}
	for k := range s.files {
		if parent(k) == dir {
			seen[path.Base(k)] = Entry{Name: path.Base(k)}
		}
	}
	for d := range s.dirs {
		if d != "" && parent(d) == dir {
			seen[path.Base(d)] = Entry{Name: path.Base(d), Dir: true}
		}
	}
	if a, rel := s.arrayOf(dir); a != nil {
		if es, ok := a.chunkEntries(rel); ok {
			found = true
			for _, e := range es {
				if _, taken := seen[e.Name]; !taken {
					seen[e.Name] = e
				}
			}
		}
	}
	if !found {
		return nil, false
	}
	out := make([]Entry, 0, len(seen))
	for _, e := range seen {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, true
}

// arrayOf returns the array whose folder holds dir (dir itself or an
// ancestor) and dir's path below it.
func (s *Store) arrayOf(dir string) (*Array, []string) {
	var segs []string
	if dir != "" {
		segs = strings.Split(dir, "/")
	}
	for i := len(segs); i >= 0; i-- {
		if a, ok := s.arrays[strings.Join(segs[:i], "/")]; ok {
			return a, segs[i:]
		}
	}
	return nil, nil
}
