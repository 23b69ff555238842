package remote

import (
	"context"

	"golang.org/x/sync/singleflight"
)

// shared runs load once for every caller asking for key in g at the same time, on ctx
// without its cancellation (context.WithoutCancel: a caller that gives up must not fail
// the others waiting for the same load; load bounds its own time), and waits for it while
// ctx lasts.
func shared[T any](ctx context.Context, g *singleflight.Group, key string, load func(context.Context) (T, error)) (T, error) {
	ch := g.DoChan(key, func() (any, error) { return load(context.WithoutCancel(ctx)) })
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
