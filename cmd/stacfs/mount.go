package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/cog"
	stacfs "github.com/stacfs/stacfs/fs"
	"github.com/stacfs/stacfs/mountinfo"
	"github.com/stacfs/stacfs/remote"
)

func cmdMount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("mount", "stacfs mount [--config FILE] [--catalog NAME] [--daemon [--log-file FILE]] MOUNTPOINT", stderr)
	cfgPath := fl.String("config", "", "config file (default $STACFS_CONFIG, else ~/.config/stacfs/config.toml)")
	only := fl.String("catalog", "", "mount only this catalog: the root holds its collections")
	daemon := fl.Bool("daemon", false, "mount in the background and return once mounted")
	logFile := fl.String("log-file", "", "append the log to FILE (with --daemon, else it is discarded)")
	allowOther := fl.Bool("allow-other", false, "let other users see the mount (as [mount] allow_other)")
	metricsAddr := fl.String("metrics", "", "serve Prometheus metrics on ADDR (e.g. 127.0.0.1:9477) at /metrics")
	var lf logFlags
	lf.register(fl)
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fl.Usage()
		return fmt.Errorf("%w: mount takes one MOUNTPOINT", errUsage)
	}
	logw, closeLog, err := openLogFile(*logFile, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	log, err := lf.logger(logw)
	if err != nil {
		return err
	}
	path := *cfgPath
	if path == "" {
		path = DefaultConfigPath()
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return err
	}
	if *daemon {
		return daemonize(args, pos[0], *logFile)
	}
	if *allowOther {
		cfg.Mount.AllowOther = true
	}
	cfg.metricsAddr = *metricsAddr
	return mountAndServe(ctx, cfg, *only, pos[0], lf.debug, log, stdout)
}

// mountAndServe mounts cfg's catalogs (or only one) on dir and serves until
// SIGINT/SIGTERM or an external unmount.
func mountAndServe(ctx context.Context, cfg *Config, only, dir string, debug bool, log *slog.Logger, stdout io.Writer) error {
	names := cfg.CatalogNames()
	if only != "" {
		if _, err := cfg.Catalog(only); err != nil {
			return err
		}
		names = []string{only}
	}
	cc := cfg.Cache
	shared, err := openShared(cfg, log) // nil without [cache.shared]
	if err != nil {
		return err
	}
	defer shared.Close()
	bc, err := cache.New(cache.Options{Memory: int64(cc.Memory), BlockSize: int(cc.BlockSize), Logger: log,
		MaxReadAhead: int64(cc.ReadAhead), NoReadAhead: cc.ReadAhead == 0,
		DiskDir: cc.Dir, DiskBytes: int64(cc.Disk), Tiling: cogTiling, Shared: shared})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer bc.Close()
	m, err := startMetrics(cfg.metricsAddr, bc, log)
	if err != nil {
		return err
	}
	var ccs []*CatalogConfig
	for _, name := range names {
		ccs = append(ccs, cfg.Catalogs[name])
	}
	warnLoosePermissions(log, ccs)
	var cats []*catalog.Catalog
	for _, cc := range ccs {
		client, err := newClient(cfg, cc, log)
		if err != nil {
			return err
		}
		m.observe(cc.name, client)
		shareMetadata(cfg, cc, client, shared)
		// Wrong credentials fail here, before anything is mounted.
		if err := signIn(ctx, cc, client); err != nil {
			return err
		}
		cat, err := newCatalog(ctx, cfg, cc, client, bc, log)
		if err != nil {
			return err
		}
		cats = append(cats, cat)
	}
	if err := prepareMountpoint(dir, log); err != nil {
		return err
	}
	fsys := stacfs.New(stacfs.Options{
		Catalogs:     cats,
		Single:       only != "",
		Cache:        bc,
		Logger:       log,
		EntryTimeout: cfg.Cache.MetadataTTL.Duration,
		Debug:        debug,
		AllowOther:   cfg.Mount.AllowOther,
		Observe:      m.op(),
		Served:       m.served(),
	})
	srv, err := fsys.Mount(dir)
	if err != nil {
		return fmt.Errorf("mount %s: %w", dir, err)
	}
	log.Info("mounted", "mountpoint", dir, "catalogs", names)
	daemonMounted()
	return serve(ctx, srv, dir, log)
}

// newClient builds the HTTP client of one catalog, with its token source
// and credential scope.
func newClient(cfg *Config, cc *CatalogConfig, log *slog.Logger) (*remote.Client, error) {
	h := http.Header{}
	for k, v := range cc.Headers {
		h.Set(k, v)
	}
	client := &remote.Client{HTTP: remote.NewHTTPClient(), UserAgent: "stacfs/" + versionString(), Header: h,
		Logger: log.With("catalog", cc.name), RetryBudget: cfg.Network.RetryBudget.Duration, StallTimeout: cfg.Network.StallTimeout.Duration,
		MaxPerOrigin: cfg.Network.MaxPerOrigin}
	cc.prov.tuneClient(client)
	if cc.auth.cfg.Type == "none" || cc.auth.cfg.Type == "" {
		return client, nil
	}
	ac := cc.auth.cfg
	if ac.Logger == nil {
		ac.Logger = log.With("catalog", cc.name)
	}
	tokens, err := remote.NewTokens(ac, remote.NewHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("catalog %q: %w", cc.name, err)
	}
	scope, err := remote.NewScope(cc.URL, cc.auth.hosts)
	if err != nil {
		return nil, fmt.Errorf("catalog %q: %w", cc.name, err)
	}
	client.Auth = &remote.Auth{Tokens: tokens, Scope: scope}
	return client, nil
}

// signInTimeout bounds the first token fetch at start.
const signInTimeout = 30 * time.Second

// signIn fetches the first token, so that wrong credentials fail at start
// with the token server's own message.
func signIn(ctx context.Context, cc *CatalogConfig, client *remote.Client) error {
	if client.Auth == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, signInTimeout)
	defer cancel()
	if _, err := client.Auth.Tokens.Token(ctx); err != nil {
		return fmt.Errorf("catalog %q: sign-in failed: %w", cc.name, err)
	}
	return nil
}

// newCatalog wires one configured catalog and its views. A view that uses
// what the server does not support (filter, query) fails here, before
// anything is mounted.
func newCatalog(ctx context.Context, cfg *Config, cc *CatalogConfig, client *remote.Client, bc *cache.Cache, log *slog.Logger) (*catalog.Catalog, error) {
	src := &remote.Catalog{Client: client, URL: cc.URL}
	objs := cc.objects(client, assetReader(cc, client, log))
	cat := catalog.New(src, objs, catalog.Options{
		Href:        objs.Href,
		Name:        cc.name,
		Collections: cc.Collections,
		TTL:         cfg.Cache.MetadataTTL.Duration,
		MaxItems:    cc.MaxItems,
		Cache:       bc,
		ShareBlocks: shares(cfg, cc),
		Logger:      log,
	})
	if err := addViews(ctx, cc, src, cat); err != nil {
		return nil, err
	}
	return cat, nil
}

// serve waits for an external unmount, or unmounts on SIGINT/SIGTERM.
func serve(ctx context.Context, srv *fuse.Server, dir string, log *slog.Logger) error {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	select {
	case <-done:
		log.Info("unmounted from outside", "mountpoint", dir)
		return nil
	case s := <-sig:
		log.Info("unmounting", "signal", s.String(), "mountpoint", dir)
	case <-ctx.Done():
	}
	return unmount(srv, dir, done, log)
}

// unmount unmounts, retrying briefly while the mount is busy, then detaches
// it lazily so the process always exits promptly: reads still in flight
// end when the process does (the kernel fails them), new ones cannot start.
func unmount(srv *fuse.Server, dir string, done <-chan struct{}, log *slog.Logger) error {
	var err error
	for range 3 {
		if err = srv.Unmount(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		log.Warn("mount busy; detaching it", "mountpoint", dir, "err", err)
		if derr := syscall.Unmount(dir, syscall.MNT_DETACH); derr != nil {
			_ = exec.Command("fusermount3", "-u", "-z", dir).Run()
		}
	}
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	log.Info("unmounted", "mountpoint", dir)
	return nil
}

// prepareMountpoint checks dir and cleans a stale mount left by a crash
// ("transport endpoint is not connected"). A live mount is left alone.
func prepareMountpoint(dir string, log *slog.Logger) error {
	if mountinfo.Mounted(dir) {
		if !mountinfo.Stale(dir) {
			return fmt.Errorf("mountpoint %s: already mounted", dir)
		}
		log.Warn("cleaning a stale mount left by a crash", "mountpoint", dir)
		if uerr := syscall.Unmount(dir, syscall.MNT_DETACH); uerr != nil {
			if out, ferr := exec.Command("fusermount3", "-u", "-z", dir).CombinedOutput(); ferr != nil {
				return fmt.Errorf("mountpoint %s: stale mount could not be cleaned: %v: %s", dir, uerr, out)
			}
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("mountpoint: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("mountpoint %s: not a directory", dir)
	}
	return nil
}

// cogTiling reads the tile layout of a tiled TIFF (COG) for the block
// cache, which then fetches whole tiles and rows of tiles.
func cogTiling(r io.ReaderAt, size int64) (cache.Tiling, error) {
	l, err := cog.Parse(r, size)
	if err != nil {
		return nil, err
	}
	return cogLayout{l}, nil
}

// cogLayout is a cog.Layout seen as a cache.Tiling.
type cogLayout struct{ l *cog.Layout }

func (c cogLayout) TileAt(off int64) (cache.Tile, bool) {
	t, ok := c.l.TileAt(off)
	return cache.Tile(t), ok
}

func (c cogLayout) Tile(img, row, col int) (cache.Tile, bool) {
	t, ok := c.l.Tile(img, row, col)
	return cache.Tile(t), ok
}

func (c cogLayout) First() (cache.Tile, bool) {
	t, ok := c.l.First()
	return cache.Tile(t), ok
}
