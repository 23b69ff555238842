package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/stacfs/stacfs/remote"
)

// assetCheckBytes is how much of an asset stacfs check reads.
const assetCheckBytes = 16 << 10

// checkAssetRead is the check step "asset read": it reads the first 16 KiB of the first
// readable asset of it (signing in, SAS signing, download redirects included), so a user
// sees a credential, EULA or storage failure before mounting.
func checkAssetRead(ctx context.Context, cc *CatalogConfig, client *remote.Client, it *remote.Item, r *checkReport) {
	name := cc.name
	var a *remote.Asset
	var href string
	rd := cc.objects(client, assetReader(cc, client, slog.New(slog.DiscardHandler)))
	for i := range it.Assets {
		if u, ok := rd.Href(&it.Assets[i]); ok {
			a, href = &it.Assets[i], u
			break
		}
	}
	if len(it.Assets) == 0 {
		return // nothing to read
	}
	if a == nil {
		r.fail(name, "asset read", fmt.Errorf("item %s has no asset stacfs can read", it.ID))
		return
	}
	var got []byte
	var info remote.Info
	err := step(ctx, func(ctx context.Context) (err error) {
		got, info, err = rd.ReadHead(ctx, href, assetCheckBytes)
		return err
	})
	if err != nil {
		r.fail(name, fmt.Sprintf("asset read (%s of %s)", a.Key, it.ID), err)
		return
	}
	size := "size unknown"
	if info.Size >= 0 {
		size = fmt.Sprintf("of %d", info.Size)
	}
	r.pass(name, "asset read (%s of %s, %s): %d bytes %s", a.Key, it.ID, remote.RedactURL(href), len(got), size)
}
