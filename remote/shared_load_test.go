package remote

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLandingShared: callers arriving while the landing page is being fetched share one
// request, and a caller that gives up does not fail the others (the fetch runs detached).
func TestLandingShared(t *testing.T) {
	var hits atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-release
		_, _ = w.Write([]byte(`{"id":"x"}`))
	}))
	defer srv.Close()
	cat := &Catalog{URL: srv.URL + "/stac"}

	quitter, quit := context.WithCancel(context.Background())
	quitErr := make(chan error, 1)
	go func() {
		_, err := cat.Landing(quitter)
		quitErr <- err
	}()
	for hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			l, err := cat.Landing(context.Background())
			if err == nil && l.ID != "x" {
				err = errors.New("landing id " + l.ID)
			}
			errs <- err
		})
	}
	quit()
	if err := <-quitErr; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: err = %v, want context.Canceled", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("waiting caller: %v", err)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("landing fetched %d times, want 1", n)
	}
	if _, err := cat.Landing(context.Background()); err != nil || hits.Load() != 1 {
		t.Errorf("memoised landing: err %v, fetches %d, want nil, 1", err, hits.Load())
	}
}
