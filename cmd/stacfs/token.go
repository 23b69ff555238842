package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("token", "stacfs token [--config FILE] --catalog NAME", stderr)
	cfgPath := fl.String("config", "", "config file (default $STACFS_CONFIG, else ~/.config/stacfs/config.toml)")
	name := fl.String("catalog", "", "the catalog whose access token to print")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *name == "" {
		fl.Usage()
		return fmt.Errorf("%w: token takes --catalog NAME and no arguments", errUsage)
	}
	path := *cfgPath
	if path == "" {
		path = DefaultConfigPath()
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return err
	}
	cc, err := cfg.Catalog(*name)
	if err != nil {
		return err
	}
	client, err := newClient(cfg, cc, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	if client.Auth == nil {
		return fmt.Errorf("catalog %q has no auth: it needs no token", cc.name)
	}
	ctx, cancel := context.WithTimeout(ctx, signInTimeout)
	defer cancel()
	tok, err := client.Auth.Tokens.Token(ctx)
	if err != nil {
		return fmt.Errorf("catalog %q: %w", cc.name, err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
