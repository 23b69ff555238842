package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	stacfs "github.com/stacfs/stacfs/fs"
)

// cmdRefresh makes a running mount list folders again at once instead of
// after metadata_ttl: it reads the folder's refresh attribute, which the
// mount answers by expiring the cached listings of that folder and below,
// and the sizes and versions of the files there.
func cmdRefresh(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("refresh", "stacfs refresh PATH...", stdout, stderr)
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError(fl, "refresh takes at least one PATH (a folder of a stacfs mount)")
	}
	for _, p := range pos {
		if err := inStacfs(p); err != nil {
			return err
		}
		dir := p
		if fi, err := os.Stat(p); err != nil {
			return fmt.Errorf("refresh %s: %w", p, err)
		} else if !fi.IsDir() {
			dir = filepath.Dir(p) // a file: its folder
		}
		buf := make([]byte, 64)
		if _, err := unix.Getxattr(dir, stacfs.RefreshXattr, buf); err != nil {
			return fmt.Errorf("refresh %s: %w", dir, err)
		}
		fmt.Fprintf(stdout, "refreshed %s: its next listing, those of the folders below it and the next opens of its files ask the server\n", dir)
	}
	return nil
}
