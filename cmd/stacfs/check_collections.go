package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/remote"
)

// configuredCollection is a collection id the config names, and where: the
// catalog's collections, or a view's ("view NAME: ").
type configuredCollection struct {
	id, where string
}

// configuredCollections lists the collections a catalog's config names:
// its collections, then those of its views not among them, in view order.
func configuredCollections(cc *CatalogConfig) []configuredCollection {
	var out []configuredCollection
	seen := map[string]bool{}
	for _, id := range cc.Collections {
		if !seen[id] {
			seen[id] = true
			out = append(out, configuredCollection{id: id})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cc.Views)) {
		for _, id := range cc.Views[name].Collections {
			if !seen[id] {
				seen[id] = true
				out = append(out, configuredCollection{id: id, where: "view " + name + ": "})
			}
		}
	}
	return out
}

// checkConfiguredCollections is the check step "configured collections":
// each collection the config names must exist on the server (in its
// listing cols, else answering /collections/{id}). A missing one is a FAIL
// line naming what the server has and the closest id; the mount would
// leave it out. It returns the first configured collection that exists
// (where the item search goes on), or "" when none does.
func checkConfiguredCollections(ctx context.Context, cat *remote.Catalog, name string, conf []configuredCollection, cols []remote.Collection, r *checkReport) string {
	have := make([]string, 0, len(cols))
	for _, c := range cols {
		have = append(have, c.ID)
	}
	var found []string
	for _, cf := range conf {
		if slices.Contains(have, cf.id) {
			found = append(found, cf.id)
			continue
		}
		// Not listed: a server may still serve it (a hidden collection).
		err := step(ctx, func(ctx context.Context) error {
			_, err := cat.Collection(ctx, cf.id)
			return err
		})
		switch {
		case err == nil:
			found = append(found, cf.id)
		case errors.Is(err, remote.ErrNotFound):
			hint := ""
			if near := catalog.Closest(cf.id, have); near != "" {
				hint = ": did you mean " + near + "?"
			}
			r.failLine(name, fmt.Sprintf("%scollection %q not found%s (the server has %s)", cf.where, cf.id, hint, catalog.ListIDs(have)))
		default:
			msg := strings.TrimPrefix(err.Error(), "collection "+cf.id+": ") // remote's error names it already
			r.failLine(name, fmt.Sprintf("%scollection %q: %s", cf.where, cf.id, msg))
		}
	}
	if len(found) == 0 {
		return ""
	}
	what := fmt.Sprintf("%d", len(found))
	if len(found) < len(conf) {
		what = fmt.Sprintf("%d of %d", len(found), len(conf))
	}
	r.pass(name, "configured collections found (%s: %s)", what, strings.Join(found, ", "))
	return found[0]
}

// failLine reports a failed check in words of its own: "FAIL <subject>: <msg>".
func (r *checkReport) failLine(subject, msg string) {
	r.failed++
	fmt.Fprintf(r.w, "FAIL %s: %s\n", subject, oneLine(msg))
}
