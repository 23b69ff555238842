package tests

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// TestBigDayListsWhilePaging: a day of 3 500 items in pages of 1 000 whose
// last page the server holds: a program reading the folder gets its first
// 100 names (one getdents, READDIRPLUS lookups included) and stats one
// while the last page has not been answered; once it is released the
// listing goes on to every item, each once. A day whose third page fails
// (400: an expired paging token) ends its listing with EIO after the entries
// of the pages that came, never a short listing that ends well.
func TestBigDayListsWhilePaging(t *testing.T) {
	t.Parallel()
	srv := fakestac.New(fakestac.Options{MaxLimit: 1000})
	t.Cleanup(srv.Close)
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	ids := srv.AddBigDay(fakestac.BigDay{Collection: "HELD", Day: day, Items: 3500})
	srv.AddBigDay(fakestac.BigDay{Collection: "FAILS", Day: day, Items: 3500})
	hold := make(chan struct{})
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	t.Cleanup(release)
	offset := func(raw string) int {
		q, _ := url.ParseQuery(raw)
		return fakestac.PageOffset(q)
	}
	lastPage := func(r fakestac.Request) bool {
		return strings.HasSuffix(r.Path, "/search") && strings.Contains(r.RawQuery, "HELD") && offset(r.RawQuery) >= 3000
	}
	srv.SetFault(func(r *http.Request) *fakestac.Fault {
		if !strings.HasSuffix(r.URL.Path, "/search") || fakestac.PageOffset(r.URL.Query()) < 2000 {
			return nil
		}
		switch q := r.URL.Query().Get("collections"); {
		case q == "HELD" && fakestac.PageOffset(r.URL.Query()) >= 3000:
			return &fakestac.Fault{Hold: hold}
		case q == "FAILS":
			return &fakestac.Fault{Status: http.StatusBadRequest} // an expired paging token
		}
		return nil
	})
	m := startMount(t, configFor(srv, ""))

	dir := filepath.Join(m.Dir, "HELD/2024/03/01")
	type first struct {
		f     *os.File
		names []string
		err   error
	}
	got := make(chan first, 1)
	go func() {
		f, err := os.Open(dir)
		if err != nil {
			got <- first{err: err}
			return
		}
		names, err := f.Readdirnames(100)
		got <- first{f: f, names: names, err: err}
	}()
	var r first
	select {
	case r = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the first 100 names did not come while the last page was held")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.f.Close()
	waitHeld(t, srv, lastPage) // it was asked, and is still held
	if len(r.names) != 100 {
		t.Fatalf("first read: %d names, want 100", len(r.names))
	}
	if _, err := os.Stat(filepath.Join(dir, r.names[99], "item.json")); err != nil {
		t.Errorf("stat of an entry listed while paging: %v", err)
	}
	release()
	rest, err := r.f.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	all := append(r.names, rest...)
	slices.Sort(all)
	if !slices.Equal(all, ids) {
		t.Errorf("listed %d names (%d distinct of %d ids)", len(all), len(slices.Compact(slices.Clone(all))), len(ids))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	var listed []string
	go func() {
		f, err := os.Open(filepath.Join(m.Dir, "FAILS/2024/03/01"))
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		for {
			names, err := f.Readdirnames(100)
			listed = append(listed, names...)
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	select {
	case err = <-errc:
	case <-ctx.Done():
		t.Fatal("the listing with a failing page did not end")
	}
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("listing with a failing page ended with %v after %d names, want EIO", err, len(listed))
	}
	if len(listed) > 2000 {
		t.Errorf("%d names listed: more than the two pages that came", len(listed))
	}
}
