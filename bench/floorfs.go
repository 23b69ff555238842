package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// floorFSCommand is the hidden first argument that makes the bench binary
// serve a folder through go-fuse's own loopback file system instead.
const floorFSCommand = "loopback-fs"

// runFloorFS serves the folder src read-only at mnt with go-fuse's loopback
// file system (fs.NewLoopbackRoot) until SIGTERM or SIGINT: a FUSE file
// system that has the data on local disk and does nothing but pass it on,
// the floor of a copy through any FUSE file system on this machine. It
// mounts with stacfs' kernel settings (1 MiB reads, 64 background requests).
func runFloorFS(src, mnt string) int {
	root, err := fusefs.NewLoopbackRoot(src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loopback-fs:", err)
		return 1
	}
	srv, err := fusefs.Mount(mnt, root, &fusefs.Options{MountOptions: fuse.MountOptions{
		FsName:        "bench-floor",
		Name:          "loopback",
		Options:       []string{"ro"},
		MaxWrite:      1 << 20,
		MaxReadAhead:  1 << 20,
		MaxBackground: 64,
		DirectMount:   true,
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "loopback-fs:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Unmount()
	}()
	srv.Wait()
	return 0
}

// mountFloor mounts the folder of the local COG with runFloorFS in a new
// process (this binary again).
func (b *bench) mountFloor(ctx context.Context) (*mounted, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	tmp, dir, _, err := mountDirs("stacfs-bench-floor-", "", "")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, floorFSCommand, filepath.Dir(b.cogPath), dir)
	cmd.Env = cleanEnv()
	return startMount(ctx, cmd, tmp, dir, filepath.Join(dir, filepath.Base(b.cogPath)))
}
