// Package zarrstore lists the keys of a Zarr store (v2 or v3) that cannot
// be listed itself, as over HTTP: it knows nothing of FUSE or HTTP, only
// how to get one key.
//
// The keys are the store's metadata files and the chunk keys of its
// arrays, computed from each array's shape, chunk grid and chunk key
// encoding (v2: "i.j" or "i/j"; v3 default: "c/i/j"). The groups and arrays
// come from consolidated metadata (.zmetadata for v2; zarr.json's
// consolidated_metadata for v3); a store without it shows its root node
// only (its metadata files, and its chunks when the root is an array):
// over HTTP a group's children cannot be found otherwise.
package zarrstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Getter reads one key of the store; found is false when the store has no
// such key (HTTP 404).
type Getter func(ctx context.Context, key string) (data []byte, found bool, err error)

// ErrNotStore means the root has no Zarr metadata.
var ErrNotStore = errors.New("no Zarr metadata (.zmetadata, zarr.json, .zarray, .zgroup) at the store's root")

// Array is one array of a store.
type Array struct {
	Path   string  // its folder below the root ("" for a root array)
	Shape  []int64 // elements per dimension
	Chunks []int64 // elements per chunk (v3 sharded: per shard), per dimension
	Sep    string  // separator of chunk key parts: "." or "/"
	Prefix string  // chunk keys start with this part ("c" for v3's default encoding), or ""
}

// Store is a store's listable tree.
type Store struct {
	Version      int  // 2 or 3
	Consolidated bool // the tree comes from consolidated metadata
	arrays       map[string]*Array
	files        map[string]bool // metadata keys known to exist
	dirs         map[string]bool // folders that metadata or arrays imply ("" is the root)
}

// Open reads a store's root metadata with get: .zmetadata, else zarr.json,
// else .zarray, else .zgroup.
func Open(ctx context.Context, get Getter) (*Store, error) {
	s := &Store{arrays: map[string]*Array{}, files: map[string]bool{}, dirs: map[string]bool{"": true}}
	if b, ok, err := get(ctx, ".zmetadata"); err != nil {
		return nil, err
	} else if ok {
		return s, s.v2Consolidated(b)
	}
	if b, ok, err := get(ctx, "zarr.json"); err != nil {
		return nil, err
	} else if ok {
		return s, s.v3Root(b)
	}
	s.Version = 2
	for _, name := range []string{".zarray", ".zgroup"} {
		b, ok, err := get(ctx, name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		s.addFile(name)
		if name == ".zarray" {
			if err := s.v2Array("", b); err != nil {
				return nil, err
			}
		}
		if _, ok, err := get(ctx, ".zattrs"); err != nil {
			return nil, err
		} else if ok {
			s.addFile(".zattrs")
		}
		return s, nil
	}
	return nil, ErrNotStore
}

func (s *Store) addFile(key string) {
	s.files[key] = true
	for d := path.Dir(key); d != "."; d = path.Dir(d) {
		s.dirs[d] = true
	}
}

func (s *Store) addArray(a *Array) {
	s.arrays[a.Path] = a
	for d := a.Path; d != "." && d != ""; d = path.Dir(d) {
		s.dirs[d] = true
	}
}

// v2Consolidated reads a v2 .zmetadata document.
func (s *Store) v2Consolidated(b []byte) error {
	s.Version, s.Consolidated = 2, true
	var doc struct {
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Metadata == nil {
		return fmt.Errorf("zarr .zmetadata: not consolidated metadata: %v", err)
	}
	s.addFile(".zmetadata")
	for key, meta := range doc.Metadata {
		if !validKey(key) {
			continue
		}
		s.addFile(key)
		if path.Base(key) == ".zarray" {
			if err := s.v2Array(parent(key), meta); err != nil {
				return err
			}
		}
	}
	return nil
}

// v2Array reads a v2 .zarray document for the array at p.
func (s *Store) v2Array(p string, b []byte) error {
	var meta struct {
		Shape  []int64 `json:"shape"`
		Chunks []int64 `json:"chunks"`
		Sep    string  `json:"dimension_separator"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return fmt.Errorf("zarr array %q: %w", p, err)
	}
	if meta.Sep == "" {
		meta.Sep = "."
	}
	a := &Array{Path: p, Shape: meta.Shape, Chunks: meta.Chunks, Sep: meta.Sep}
	if err := a.check(); err != nil {
		return err
	}
	s.addArray(a)
	return nil
}

// v3Node is a v3 zarr.json document (the parts used here).
type v3Node struct {
	NodeType  string  `json:"node_type"`
	Shape     []int64 `json:"shape"`
	ChunkGrid struct {
		Name          string `json:"name"`
		Configuration struct {
			ChunkShape []int64 `json:"chunk_shape"`
		} `json:"configuration"`
	} `json:"chunk_grid"`
	ChunkKeyEncoding struct {
		Name          string `json:"name"`
		Configuration struct {
			Separator string `json:"separator"`
		} `json:"configuration"`
	} `json:"chunk_key_encoding"`
	Consolidated *struct {
		Metadata map[string]json.RawMessage `json:"metadata"`
	} `json:"consolidated_metadata"`
}

// v3Root reads the root zarr.json and the nodes its consolidated metadata
// holds.
func (s *Store) v3Root(b []byte) error {
	s.Version = 3
	var root v3Node
	if err := json.Unmarshal(b, &root); err != nil {
		return fmt.Errorf("zarr zarr.json: %w", err)
	}
	s.addFile("zarr.json")
	if err := s.v3Add("", root); err != nil {
		return err
	}
	if root.Consolidated == nil {
		return nil
	}
	s.Consolidated = true
	for p, raw := range root.Consolidated.Metadata {
		p = strings.Trim(p, "/")
		if p == "" || !validKey(p) {
			continue
		}
		var n v3Node
		if err := json.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("zarr node %q: %w", p, err)
		}
		s.addFile(p + "/zarr.json")
		if err := s.v3Add(p, n); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) v3Add(p string, n v3Node) error {
	if n.NodeType != "array" {
		return nil
	}
	if n.ChunkGrid.Name != "" && n.ChunkGrid.Name != "regular" {
		return fmt.Errorf("zarr array %q: chunk grid %q is not supported", p, n.ChunkGrid.Name)
	}
	a := &Array{Path: p, Shape: n.Shape, Chunks: n.ChunkGrid.Configuration.ChunkShape}
	switch n.ChunkKeyEncoding.Name {
	case "", "default":
		a.Prefix, a.Sep = "c", "/"
	case "v2":
		a.Sep = "."
	default:
		return fmt.Errorf("zarr array %q: chunk key encoding %q is not supported", p, n.ChunkKeyEncoding.Name)
	}
	if sep := n.ChunkKeyEncoding.Configuration.Separator; sep != "" {
		a.Sep = sep
	}
	if err := a.check(); err != nil {
		return err
	}
	s.addArray(a)
	return nil
}

// maxChunks bounds the chunk keys one array may have (a listing of more is
// refused rather than built).
const maxChunks = 1 << 20

func (a *Array) check() error {
	if len(a.Shape) != len(a.Chunks) {
		return fmt.Errorf("zarr array %q: shape %v and chunks %v differ in rank", a.Path, a.Shape, a.Chunks)
	}
	if a.Sep != "." && a.Sep != "/" {
		return fmt.Errorf("zarr array %q: chunk key separator %q", a.Path, a.Sep)
	}
	total := int64(1)
	for i := range a.Shape {
		if a.Shape[i] < 0 || a.Chunks[i] <= 0 {
			return fmt.Errorf("zarr array %q: shape %v, chunks %v", a.Path, a.Shape, a.Chunks)
		}
		g := a.grid(i)
		if g > 0 && total > maxChunks/g {
			return fmt.Errorf("zarr array %q: more than %d chunks", a.Path, maxChunks)
		}
		total *= g
		if total > maxChunks {
			return fmt.Errorf("zarr array %q: more than %d chunks", a.Path, maxChunks)
		}
	}
	return nil
}

// grid is the number of chunks along dimension i.
func (a *Array) grid(i int) int64 {
	n := a.Shape[i] / a.Chunks[i]
	if a.Shape[i]%a.Chunks[i] != 0 {
		n++
	}
	return n
}

// validKey refuses keys that would leave the store.
func validKey(k string) bool {
	for _, s := range strings.Split(k, "/") {
		if s == "" || s == "." || s == ".." {
			return false
		}
	}
	return true
}

func parent(key string) string {
	if d := path.Dir(key); d != "." {
		return d
	}
	return ""
}

// Arrays returns the store's arrays, sorted by path.
func (s *Store) Arrays() []*Array {
	out := make([]*Array, 0, len(s.arrays))
	for _, a := range s.arrays {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
