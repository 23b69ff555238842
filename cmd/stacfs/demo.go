package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/stacfs/stacfs/fakestac"
)

const demoHelp = `stacfs demo: the built-in demo catalog is mounted on %[1]s

Try, in another shell:
  ls %[1]s
  ls -l %[1]s/sentinel-2-l2a-demo/*/*/*/*/
  gdalinfo %[1]s/sentinel-2-l2a-demo/<YYYY>/<MM>/<DD>/<item>/B04.tif
  cat %[1]s/sentinel-2-l2a-demo/<YYYY>/<MM>/<DD>/<item>/item.json

Press Ctrl-C to unmount.
`

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("demo", "stacfs demo [MOUNTPOINT]", stderr)
	var lf logFlags
	lf.register(fl)
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		fl.Usage()
		return fmt.Errorf("%w: demo takes at most one MOUNTPOINT", errUsage)
	}
	dir := "mnt"
	if len(pos) == 1 {
		dir = pos[0]
	}
	log, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mountpoint: %w", err)
	}
	srv, err := fakestac.NewDemo()
	if err != nil {
		return fmt.Errorf("demo catalog: %w", err)
	}
	defer srv.Close()
	cfg, err := ParseConfig("(demo)", fmt.Sprintf("[catalogs.demo]\nurl = %q\n", srv.STACURL))
	if err != nil {
		return err
	}
	log.Info("demo catalog serving", "url", srv.STACURL)
	fmt.Fprintf(stdout, demoHelp, dir)
	return mountAndServe(ctx, cfg, "demo", dir, lf.debug, log, stdout)
}
