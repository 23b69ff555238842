package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"

	"github.com/stacfs/stacfs/remote"
)

// A configured collection that the server answers 404 for (a typo, a
// collection renamed or withdrawn) is left out of the catalog folder with
// an ERROR log naming it and what the server has; the other configured
// collections are shown. When none of them exists the folder's listing
// fails with ErrNoCollections: it never looks empty. Any other failure of
// a collection's fetch (5xx, timeout, malformed answer) fails the listing,
// so it is never silently short.

// ErrNoCollections means that none of a catalog's configured collections
// exists on its server: the catalog folder cannot be listed (ENXIO, see
// fs/errno.go), rather than shown empty.
var ErrNoCollections = errors.New("none of the configured collections exists on the server")

// loadConfigured fetches the configured collections (Options.Collections)
// one by one, in parallel, and leaves out those the server does not have.
func (c *Catalog) loadConfigured(ctx context.Context) ([]remote.Collection, error) {
	ids := c.o.Collections
	got := make([]remote.Collection, len(ids))
	missing := make([]bool, len(ids))
	err := c.parallel(ctx, len(ids), func(ctx context.Context, i int) error {
		col, err := c.src.Collection(ctx, ids[i])
		switch {
		case errors.Is(err, remote.ErrNotFound):
			missing[i] = true
		case err != nil:
			return fmt.Errorf("collection %q: %w", ids[i], err)
		default:
			got[i] = col
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var list []remote.Collection
	var gone []string
	for i, col := range got {
		if missing[i] {
			gone = append(gone, ids[i])
		} else {
			list = append(list, col)
		}
	}
	if len(gone) == 0 {
		return list, nil
	}
	c.logMissing(ctx, gone, len(list) == 0)
	if len(list) == 0 {
		return nil, fmt.Errorf("catalog %q: %w (%s)", c.o.Name, ErrNoCollections, strings.Join(gone, ", "))
	}
	return list, nil
}

// missingListTimeout bounds the listing of the server's collections that
// the log of a missing one shows: it delays the catalog's listing, and some
// servers page /collections by ten.
const missingListTimeout = 5 * time.Second

// logMissing logs each configured collection the server does not have,
// with the collections it has (one listing of them, bounded by
// missingListTimeout) and the closest of those; none says that no
// configured collection was found.
func (c *Catalog) logMissing(ctx context.Context, gone []string, none bool) {
	var have []string
	var listErr error
	ctx, cancel := context.WithTimeout(ctx, missingListTimeout)
	defer cancel()
	if cols, err := c.src.Collections(ctx); err != nil {
		listErr = err
	} else {
		for _, col := range cols {
			have = append(have, col.ID)
		}
	}
	msg := "configured collection not found on the server: left out of the catalog"
	if none {
		msg = "configured collection not found on the server: none of the catalog's collections exists, its folder fails to list"
	}
	for _, id := range gone {
		args := []any{"collection", id}
		if listErr != nil {
			args = append(args, "server_has", "unknown", "list_err", listErr)
		} else {
			args = append(args, "server_has", ListIDs(have))
			if near := Closest(id, have); near != "" {
				args = append(args, "did_you_mean", near)
			}
		}
		c.log.Error(msg, args...)
	}
}

// listedIDs is how many ids ListIDs names.
const listedIDs = 10

// ListIDs describes a server's collections in a line: "3: a, b, c", or
// the count and the first few in order, "57: a, b, ... and 47 more";
// "none" for none.
func ListIDs(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	sorted := slices.Sorted(slices.Values(ids))
	s := fmt.Sprintf("%d: %s", len(ids), strings.Join(sorted[:min(listedIDs, len(ids))], ", "))
	if len(ids) > listedIDs {
		s += fmt.Sprintf(" and %d more", len(ids)-listedIDs)
	}
	return s
}

// Closest returns the id of ids most like id (by edit distance, ignoring
// case) when it is close enough to be a likely typo of it, else "". A
// distance of up to a third of id's length counts (at least 1):
// "sentinel2-l2a" finds "sentinel-2-l2a", "s2" finds "S2".
func Closest(id string, ids []string) string {
	limit := max(1, utf8.RuneCountInString(id)/3)
	best, bestD := "", limit+1
	low := strings.ToLower(id)
	for _, cand := range ids {
		if cand == id {
			continue
		}
		if d := levenshtein.ComputeDistance(low, strings.ToLower(cand)); d < bestD || (d == bestD && cand < best) {
			best, bestD = cand, d
		}
	}
	return best
}
