package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/BurntSushi/toml"

	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
)

// ViewConfig is a [catalogs.NAME.views.VIEW] table: a saved search shown
// as <catalog>/views/VIEW/.
type ViewConfig struct {
	Collections []string       `toml:"collections"`
	Bbox        []float64      `toml:"bbox"`
	Datetime    string         `toml:"datetime"`
	Filter      any            `toml:"filter"`      // CQL2 JSON (a table) or CQL2 text (a string)
	FilterLang  string         `toml:"filter_lang"` // cql2-json or cql2-text; default from filter's type
	Query       map[string]any `toml:"query"`       // query extension

	filter catalog.ViewFilter // built by check
}

// Conformance classes a view needs.
const (
	filterClass = "https://api.stacspec.org/v1.0.0/item-search#filter"
	queryClass  = "https://api.stacspec.org/v1.0.0/item-search#query"
)

// checkViews checks the catalog's views and builds their filters.
func (cat *CatalogConfig) checkViews(key string) error {
	for name, v := range cat.Views {
		vkey := key + ".views." + name
		if v == nil {
			return fmt.Errorf("key %q: empty table", vkey)
		}
		if !validName(name) {
			return fmt.Errorf("key %q: a view name must be a usable folder name (letters, digits, '-', '_', '.')", vkey)
		}
		f := catalog.ViewFilter{Collections: v.Collections}
		for i, col := range v.Collections {
			if col == "" {
				return fmt.Errorf("key %q: entry %d is empty", vkey+".collections", i+1)
			}
			if len(cat.Collections) > 0 && !slices.Contains(cat.Collections, col) {
				return fmt.Errorf("key %q: %q is not one of the catalog's collections", vkey+".collections", col)
			}
		}
		if v.Bbox != nil {
			b := v.Bbox
			if len(b) != 4 {
				return fmt.Errorf("key %q: want 4 numbers [minx, miny, maxx, maxy], have %d", vkey+".bbox", len(b))
			}
			if b[0] < -180 || b[2] > 180 || b[1] < -90 || b[3] > 90 {
				return fmt.Errorf("key %q: %v is out of range (longitude -180 to 180, latitude -90 to 90)", vkey+".bbox", b)
			}
			if b[0] > b[2] || b[1] > b[3] {
				return fmt.Errorf("key %q: %v: the minimum is after the maximum (want [minx, miny, maxx, maxy]; an area across the antimeridian needs two views)", vkey+".bbox", b)
			}
			f.Bbox = b
		}
		if v.Datetime != "" {
			var err error
			if f.From, f.To, err = catalog.ParseDatetime(v.Datetime); err != nil {
				return fmt.Errorf("key %q: %w", vkey+".datetime", err)
			}
		}
		extra := map[string]any{}
		switch flt := v.Filter.(type) {
		case nil:
			if v.FilterLang != "" {
				return fmt.Errorf("key %q: set %q too", vkey+".filter_lang", vkey+".filter")
			}
		case map[string]any:
			if v.FilterLang != "" && v.FilterLang != "cql2-json" {
				return fmt.Errorf("key %q: a filter table is CQL2 JSON: %q must be \"cql2-json\"", vkey+".filter", vkey+".filter_lang")
			}
			extra["filter"], extra["filter-lang"] = flt, "cql2-json"
		case string:
			if flt == "" {
				return fmt.Errorf("key %q: empty", vkey+".filter")
			}
			lang := v.FilterLang
			if lang == "" {
				lang = "cql2-text"
			}
			if lang != "cql2-text" && lang != "cql2-json" {
				return fmt.Errorf("key %q: %q is not \"cql2-text\" or \"cql2-json\"", vkey+".filter_lang", v.FilterLang)
			}
			extra["filter"], extra["filter-lang"] = flt, lang
		default:
			return fmt.Errorf("key %q: want a CQL2 JSON table or a CQL2 text string, have %T", vkey+".filter", v.Filter)
		}
		if v.Query != nil {
			extra["query"] = v.Query
		}
		if len(extra) > 0 {
			f.Extra = extra
		}
		v.filter = f
	}
	return nil
}

// viewNames returns the catalog's view names, sorted.
func (cat *CatalogConfig) viewNames() []string {
	return slices.Sorted(maps.Keys(cat.Views))
}

// viewsConform checks that the server supports what the catalog's views
// use (filter, query): one error per view that needs a class the landing
// page does not list.
func viewsConform(cc *CatalogConfig, l *remote.Landing) []error {
	var errs []error
	for _, name := range cc.viewNames() {
		v := cc.Views[name]
		var need []struct{ key, substr, class string }
		if v.Filter != nil {
			need = append(need, struct{ key, substr, class string }{"filter", "filter", filterClass})
		}
		if v.Query != nil {
			need = append(need, struct{ key, substr, class string }{"query", "#query", queryClass})
		}
		for _, n := range need {
			if !l.Conforms(n.substr) {
				errs = append(errs, fmt.Errorf("view %q uses %s, but the server does not conform to %s (its landing page's conformsTo lacks it)",
					name, n.key, n.class))
			}
		}
	}
	return errs
}

// addViews adds the catalog's views to c (viewsConform checked them).
func addViews(cc *CatalogConfig, c *catalog.Catalog) {
	for _, name := range cc.viewNames() {
		c.View(name, cc.Views[name].filter)
	}
}

// freeformKey reports whether k lies inside a view's filter or query table,
// whose keys are the server's to judge.
func freeformKey(k toml.Key) bool {
	return len(k) > 5 && k[0] == "catalogs" && k[2] == "views" && (k[4] == "filter" || k[4] == "query")
}
