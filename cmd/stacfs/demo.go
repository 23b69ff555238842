package main

import (
	"context"
	"fmt"
	"io"

	"github.com/stacfs/stacfs/fakestac"
)

const demoHelp = `stacfs demo: the built-in demo catalog is mounted on %[1]s

Try, in another shell:
  ls %[1]s
  ls -l %[1]s/sentinel-2-l2a-demo/2023/04/15/S2A_31UFS_20230415_0_L2A/
  gdalinfo %[1]s/sentinel-2-l2a-demo/2023/04/15/S2A_31UFS_20230415_0_L2A/B04.tif
  gdal_translate -srcwin 0 0 256 256 %[1]s/sentinel-2-l2a-demo/2023/04/15/S2A_31UFS_20230415_0_L2A/B04.tif /tmp/window.tif
  ls -R %[1]s/BiomassLevel1b-demo/2025/07/03
  cat %[1]s/terrascope-demo/2024/03/15/*/item.json

Press Ctrl-C to unmount.
`

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("demo", "stacfs demo [MOUNTPOINT]", stdout, stderr)
	var cf configFlags
	cf.register(fl.FlagSet)
	var lf logFlags
	lf.register(fl.FlagSet)
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError(fl, "demo takes at most one MOUNTPOINT")
	}
	dir := "mnt"
	if len(pos) == 1 {
		dir = pos[0]
	}
	log, err := lf.logger(stderr)
	if err != nil {
		return err
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
	if err := cf.apply(cfg); err != nil {
		return err
	}
	// The help only once mounted: a mount that fails says so, and nothing else.
	return mountAndServe(ctx, cfg, "demo", dir, lf.debug, log, func() {
		log.Info("demo catalog serving", "url", srv.STACURL)
		fmt.Fprintf(stdout, demoHelp, dir)
	})
}
