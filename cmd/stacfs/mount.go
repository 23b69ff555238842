package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/stacfs/stacfs/cache"
	"github.com/stacfs/stacfs/catalog"
	"github.com/stacfs/stacfs/cog"
	stacfs "github.com/stacfs/stacfs/fs"
	"github.com/stacfs/stacfs/mountinfo"
	"github.com/stacfs/stacfs/remote"
)

// mountFlags are the flags of mount that the fstab form also gives as
// options.
type mountFlags struct {
	allowOther, allowRoot bool
	allowNonEmpty         bool
	uid, gid              int64
	umask, fileMode       Mode
	dirMode               Mode
	startTimeout          time.Duration
	fl                    *pflag.FlagSet
}

func (m *mountFlags) register(fl *pflag.FlagSet) {
	m.fl = fl
	fl.BoolVar(&m.allowOther, "allow-other", false, "let other users see the mount (as [mount] allow_other)")
	fl.BoolVar(&m.allowRoot, "allow-root", false, "let root see the mount too (as [mount] allow_root)")
	fl.BoolVar(&m.allowNonEmpty, "allow-non-empty", false, "mount over a folder that holds files, hiding them (as [mount] allow_non_empty)")
	fl.Int64Var(&m.uid, "uid", 0, "user `ID` owning every file and folder (as [mount] uid; default: you)")
	fl.Int64Var(&m.gid, "gid", 0, "group `ID` of every file and folder (as [mount] gid; default: yours)")
	fl.Var(&m.umask, "umask", "clear these bits of the modes 0444 and 0555 (as [mount] umask, e.g. 027)")
	fl.Var(&m.fileMode, "file-mode", "mode of every file (as [mount] file_mode, e.g. 0440)")
	fl.Var(&m.dirMode, "dir-mode", "mode of every folder (as [mount] dir_mode, e.g. 0550)")
	fl.DurationVar(&m.startTimeout, "start-timeout", defaultStartTimeout,
		"keep trying to reach each catalog (sign-in, landing page) this `DURATION` at start, e.g. at boot")
	noDefaults(fl, "umask", "file-mode", "dir-mode")
}

// apply writes the flags given over cfg.Mount.
func (m *mountFlags) apply(cfg *Config) error {
	mc := &cfg.Mount
	if m.allowOther {
		mc.AllowOther = true
	}
	if m.allowRoot {
		mc.AllowRoot = true
	}
	if m.allowNonEmpty {
		mc.AllowNonEmpty = true
	}
	if m.fl.Changed("uid") {
		mc.UID = &m.uid
	}
	if m.fl.Changed("gid") {
		mc.GID = &m.gid
	}
	if m.fl.Changed("umask") {
		mc.Umask = &m.umask
	}
	if m.fl.Changed("file-mode") {
		mc.FileMode = m.fileMode
	}
	if m.fl.Changed("dir-mode") {
		mc.DirMode = m.dirMode
	}
	if m.startTimeout <= 0 {
		return fmt.Errorf("%w: --start-timeout %s: want more than 0", errUsage, m.startTimeout)
	}
	cfg.startTimeout = m.startTimeout
	if err := cfg.checkValues(); err != nil {
		return fmt.Errorf("%w: %v (from the flags)", errUsage, err)
	}
	return nil
}

func cmdMount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("mount", "stacfs mount [--config FILE] [--catalog NAME | --url URL | --preset NAME] [--daemon [--log-file FILE]] MOUNTPOINT", stdout, stderr)
	cfgPath := configPathFlag(fl.FlagSet)
	var choice catalogChoice
	choice.register(fl.FlagSet, "mount only catalog `NAME`: the root holds its collections (so does --url or --preset)")
	daemon := fl.Bool("daemon", false, "mount in the background and return once mounted")
	logFile := fl.String("log-file", "", "append the log to `FILE` instead of stderr (with --daemon, where stderr is discarded, the only log)")
	metricsAddr := fl.String("metrics", "", "serve Prometheus metrics on `ADDR` (e.g. 127.0.0.1:9477) at /metrics")
	var mf mountFlags
	mf.register(fl.FlagSet)
	var cf configFlags
	cf.register(fl.FlagSet)
	var lf logFlags
	lf.register(fl.FlagSet)
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(fl, "mount takes one MOUNTPOINT")
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
	path, explicit := cfgPath()
	cfg, only, err := choice.load(path, explicit)
	if err != nil {
		return err
	}
	if err := cf.apply(cfg); err != nil {
		return err
	}
	if err := mf.apply(cfg); err != nil {
		return err
	}
	if *daemon {
		return daemonize(args, pos[0], *logFile, cfg.startTimeout)
	}
	cfg.metricsAddr = *metricsAddr
	return mountAndServe(ctx, cfg, only, pos[0], lf.debug, log, nil)
}

// loadUsable loads the config. Catalogs whose tables are unusable (a
// credentials file that is missing, say) are logged and left to
// mountAndServe, which shows them as broken folders: the config fails only
// when it is unusable as a whole, or when the one catalog asked for is.
func loadUsable(path, only string) (*Config, error) {
	cfg, err := LoadConfig(path)
	var ce catalogErrors
	if !errors.As(err, &ce) {
		return cfg, err
	}
	if only != "" {
		if _, err := cfg.Catalog(only); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// mountAndServe mounts cfg's catalogs (or only one) on dir and serves until
// SIGINT/SIGTERM or an external unmount. Catalogs that cannot start are
// shown as folders whose listing fails (EACCES), with an ERROR log; when
// none starts, it fails. mounted, when set, is called once the mount is up
// (demo prints its help).
func mountAndServe(ctx context.Context, cfg *Config, only, dir string, debug bool, log *slog.Logger, mounted func()) error {
	// A reader of stdout or stderr that went away (stacfs ... | tee, then
	// Ctrl-C) must not kill stacfs with SIGPIPE before it unmounts: writes
	// to a closed pipe fail with EPIPE instead.
	signal.Ignore(syscall.SIGPIPE)
	// SIGINT and SIGTERM from here on: during start-up they stop it, once
	// mounted they unmount (a stop right after READY=1 must not find the
	// default action, which would leave the mount behind).
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	startCtx, cancelStart := context.WithCancel(ctx)
	defer cancelStart()
	stop := make(chan os.Signal, 1)
	go func() {
		select {
		case s := <-sig:
			stop <- s
			cancelStart()
		case <-startCtx.Done():
		}
	}()
	names := cfg.CatalogNames()
	if only != "" {
		if _, err := cfg.Catalog(only); err != nil {
			return err
		}
		names = []string{only}
	}
	created, err := prepareMountpoint(dir, cfg.Mount.AllowNonEmpty, log)
	if err != nil {
		return err
	}
	up := false
	defer func() {
		if created && !up { // a failed start leaves no folder it made behind
			if err := os.Remove(dir); err == nil {
				log.Info("removed the mount point it created", "mountpoint", dir)
			}
		}
	}()
	setHeapLimit(log)
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
		return err // "cache: ..."
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
	cats, pending, broken, err := startCatalogs(startCtx, cfg, ccs, bc, m, shared, log)
	if err != nil {
		return err
	}
	capacity := int64(cc.Memory)
	if cc.Dir != "" {
		capacity += int64(cc.Disk)
	}
	fileMode, dirMode := cfg.Mount.modes()
	var uid, gid *uint32
	if cfg.Mount.UID != nil {
		u := uint32(*cfg.Mount.UID)
		uid = &u
	}
	if cfg.Mount.GID != nil {
		g := uint32(*cfg.Mount.GID)
		gid = &g
	}
	fsys := stacfs.New(stacfs.Options{
		Catalogs:     cats,
		Broken:       broken,
		Pending:      pending,
		Single:       only != "",
		Cache:        bc,
		CacheBytes:   capacity,
		Logger:       log,
		EntryTimeout: cfg.Cache.MetadataTTL.Duration,
		Debug:        debug,
		AllowOther:   cfg.Mount.AllowOther,
		AllowRoot:    cfg.Mount.AllowRoot,
		UID:          uid,
		GID:          gid,
		FileMode:     fileMode,
		DirMode:      dirMode,
		Observe:      m.op(),
		Served:       m.served(),
	})
	srv, err := fsys.Mount(dir)
	if err != nil {
		return fmt.Errorf("mount %s: %w", dir, err)
	}
	up = true
	if len(pending) > 0 {
		log.Info("mounted", "mountpoint", dir, "catalogs", names, "pending", pendingNames(pending))
	} else {
		log.Info("mounted", "mountpoint", dir, "catalogs", names)
	}
	if mounted != nil {
		mounted()
	}
	if ok, err := sdNotify("READY=1"); err != nil {
		log.Warn("could not tell systemd the mount is ready", "err", err)
	} else if ok {
		log.Debug("told systemd the mount is ready")
	}
	daemonMounted()
	return serve(ctx, srv, dir, stop, log)
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

// newCatalog wires one configured catalog and its views (startCatalog
// checked that the server supports what they use).
func newCatalog(cfg *Config, cc *CatalogConfig, client *remote.Client, bc *cache.Cache, log *slog.Logger) *catalog.Catalog {
	src := &remote.Catalog{Client: client, URL: cc.URL}
	objs := cc.objects(client, assetReader(cc, client, log))
	cat := catalog.New(src, objs, catalog.Options{
		Href:        objs.Href,
		Name:        cc.name,
		Collections: cc.Collections,
		TTL:         cfg.Cache.MetadataTTL.Duration,
		MaxItems:    cc.MaxItems,
		ListedItems: cc.ListedItems,
		Cache:       bc,
		ShareBlocks: shares(cfg, cc),
		Logger:      log,
		// Streams spool where the disk tier is, when there is one (the
		// system's temporary folder may be in RAM).
		StreamDir:       cfg.Cache.Dir,
		StreamStatLimit: int64(cfg.Cache.StreamStatLimit),
	})
	addViews(cc, cat)
	return cat
}

// serve waits for an external unmount, or unmounts on a signal from stop.
func serve(ctx context.Context, srv *fuse.Server, dir string, stop <-chan os.Signal, log *slog.Logger) error {
	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	var why string
	select {
	case <-done:
		log.Info("unmounted from outside", "mountpoint", dir)
		return nil
	case s := <-stop:
		why = s.String()
	case <-ctx.Done():
		why = "cancelled"
	}
	// Unmount first, log after: a log write that fails (stderr gone)
	// must never leave the mount behind.
	return unmount(srv, dir, done, why, log)
}

// unmount unmounts, retrying briefly while the mount is busy, then detaches
// it lazily so the process always exits promptly: reads still in flight
// end when the process does (the kernel fails them), new ones cannot start.
func unmount(srv *fuse.Server, dir string, done <-chan struct{}, why string, log *slog.Logger) error {
	var err error
	for range 3 {
		if err = srv.Unmount(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		_ = detach(dir)
		log.Warn("mount was busy; detached it", "mountpoint", dir, "err", err)
	}
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	log.Info("unmounted", "mountpoint", dir, "signal", why)
	return nil
}

// prepareMountpoint checks dir and cleans a stale mount left by a crash
// there; it creates a missing dir (created is then true). A folder that
// holds files is refused unless allowNonEmpty: the mount would hide them.
func prepareMountpoint(dir string, allowNonEmpty bool, log *slog.Logger) (created bool, err error) {
	if mountinfo.Mounted(dir) {
		if !mountinfo.Stale(dir) {
			return false, fmt.Errorf("mountpoint %s: already mounted", dir)
		}
		log.Warn("cleaning a stale mount left by a crash", "mountpoint", dir)
		if err := detach(dir); err != nil {
			return false, fmt.Errorf("mountpoint %s: stale mount could not be cleaned: %w", dir, err)
		}
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		// mount and demo both create a missing mount point (not its
		// parents: a typo in them still fails).
		if err := os.Mkdir(dir, 0o755); err != nil {
			return false, fmt.Errorf("mountpoint: %w", err)
		}
		log.Info("created the mount point", "mountpoint", dir)
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("mountpoint: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("mountpoint %s: not a directory", dir)
	}
	if allowNonEmpty {
		return false, nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return false, fmt.Errorf("mountpoint: %w", err)
	}
	defer f.Close()
	if names, _ := f.Readdirnames(1); len(names) > 0 {
		return false, fmt.Errorf("mountpoint %s is not empty (it holds %q): the mount would hide its files; "+
			"use an empty folder, or --allow-non-empty ([mount] allow_non_empty, fstab option nonempty)", dir, names[0])
	}
	return false, nil
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

func (c cogLayout) Grid(img int) (across, down int, ok bool) { return c.l.Grid(img) }
