package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/stacfs/stacfs/remote"
)

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("token", "stacfs token [--config FILE] --catalog NAME | --preset NAME | --url URL [--href URL]", stdout, stderr)
	cfgPath := configPathFlag(fl.FlagSet)
	var choice catalogChoice
	choice.register(fl.FlagSet, "the catalog `NAME` whose access token to print")
	_ = fl.MarkHidden("collections") // a token is the catalog's
	href := fl.String("href", "", "print the URL (SAS-signed, presigned) stacfs reads the asset href `URL` from, instead")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || (choice.name == "" && !choice.adHoc()) {
		return usageError(fl, "token takes --catalog NAME (or --preset, --url) and no arguments")
	}
	path, explicit := cfgPath()
	// Only the catalog asked for must be usable: another one's missing
	// credentials file is not this command's business.
	cfg, name, err := choice.load(path, explicit)
	if err != nil {
		return err
	}
	cc, err := cfg.Catalog(name)
	if err != nil {
		return err
	}
	client, err := newClient(cfg, cc, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, signInTimeout)
	defer cancel()
	if *href != "" {
		return printSigned(ctx, cc, client, *href, stdout, stderr)
	}
	if client.Auth == nil {
		if cc.prov.sasURL != "" {
			return fmt.Errorf("catalog %q signs each asset href with a SAS token: pass --href URL", cc.name)
		}
		return fmt.Errorf("catalog %q has no auth: it needs no token", cc.name)
	}
	tok, err := client.Auth.Tokens.Token(ctx)
	if err != nil {
		return fmt.Errorf("catalog %q: %w", cc.name, err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// printSigned prints the URL stacfs reads href from (stacfs token --href): SAS-signed for
// the Planetary Computer, the presigned URL an Earthdata download host redirects to.
func printSigned(ctx context.Context, cc *CatalogConfig, client *remote.Client, href string, stdout, stderr io.Writer) error {
	if strings.HasPrefix(href, "s3://") {
		return printS3(ctx, cc, client, href, stdout)
	}
	rd := assetReader(cc, client, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if rd.Signer == nil {
		return fmt.Errorf("catalog %q does not sign hrefs: read %s as it is", cc.name, remote.RedactURL(href))
	}
	u, err := rd.Signer.Sign(ctx, href)
	if err != nil {
		return fmt.Errorf("catalog %q: %w", cc.name, err)
	}
	fmt.Fprintln(stdout, u)
	return nil
}
