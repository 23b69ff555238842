package remote

import (
	"context"

	"golang.org/x/sync/singleflight"
)

// shared returns what peek finds cached, else runs load once for every caller asking for
// key in g at the same time, on ctx without its cancellation (context.WithoutCancel: a
// caller that gives up must not fail the others waiting for the same load; load bounds its
// own time, and stores what peek finds next), and waits for it while ctx lasts.
//
// peek is asked again inside the flight: a caller that found nothing cached just before
// another flight stored its value and ended would otherwise start a second load.
func shared[T any](ctx context.Context, g *singleflight.Group, key string, peek func() (T, bool), load func(context.Context) (T, error)) (T, error) {
	if v, ok := peek(); ok {
		return v, nil
	}
	ch := g.DoChan(key, func() (any, error) {
		if v, ok := peek(); ok {
			return v, nil
		}
		return load(context.WithoutCancel(ctx))
	})
	var zero T
	select {
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		return r.Val.(T), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}
