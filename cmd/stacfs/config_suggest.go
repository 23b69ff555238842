package main

import (
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/agnivade/levenshtein"
)

// suggestKey returns the key of the config that an unknown key k most
// likely meant ("cache.memory" for "cache.memroy"), or "" when none is
// close: a key of the same table within a small edit distance.
func suggestKey(k toml.Key) string {
	if len(k) == 0 {
		return ""
	}
	t := reflect.TypeFor[Config]()
	for _, seg := range k[:len(k)-1] {
		if t = childType(t, seg); t == nil {
			return ""
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	last := k[len(k)-1]
	best, bestDist := "", len(last)/3+1 // at most a third of the name wrong (one edit for short names)
	for _, name := range tomlFields(t) {
		if d := levenshtein.ComputeDistance(strings.ToLower(last), name); d <= bestDist && (best == "" || d < bestDist) {
			best, bestDist = name, d
		}
	}
	if best == "" {
		return ""
	}
	return strings.Join(append(append([]string(nil), k[:len(k)-1]...), best), ".")
}

// childType is the type that key seg of a value of type t holds (nil if
// none): a struct's field by its toml tag, a map's element.
func childType(t reflect.Type, seg string) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Elem()
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				if c := childType(f.Type, seg); c != nil {
					return c
				}
				continue
			}
			if tomlName(f) == seg {
				return f.Type
			}
		}
	}
	return nil
}

// tomlFields lists the toml names of a struct's fields (embedded structs'
// included).
func tomlFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				names = append(names, tomlFields(ft)...)
			}
			continue
		}
		if n := tomlName(f); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// tomlName is the key of field f ("" when it has none).
func tomlName(f reflect.StructField) string {
	n, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if n == "-" || !f.IsExported() {
		return ""
	}
	return n
}
