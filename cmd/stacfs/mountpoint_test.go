package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrepareMountpoint: a missing folder is made, a folder that holds
// files is refused unless allowed (the mount would hide them), a file is
// not a mount point.
func TestPrepareMountpoint(t *testing.T) {
	tmp := t.TempDir()
	full := filepath.Join(tmp, "full")
	if err := os.Mkdir(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "notes.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(tmp, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, dir     string
		allowNonEmpty bool
		created       bool
		wantErr       []string // parts of the error; none: no error
	}{
		{name: "missing", dir: filepath.Join(tmp, "new"), created: true},
		{name: "missing parent", dir: filepath.Join(tmp, "no", "new"), wantErr: []string{"no such file"}},
		{name: "empty", dir: empty},
		{name: "not empty", dir: full, wantErr: []string{"is not empty", `"notes.txt"`, "--allow-non-empty"}},
		{name: "not empty, allowed", dir: full, allowNonEmpty: true},
		{name: "a file", dir: file, wantErr: []string{"not a directory"}},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			created, err := prepareMountpoint(c.dir, c.allowNonEmpty, log)
			if created != c.created {
				t.Errorf("created = %v, want %v", created, c.created)
			}
			if len(c.wantErr) == 0 && err != nil {
				t.Errorf("error %v", err)
			}
			for _, w := range c.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want one with %q", err, w)
				}
			}
		})
	}
}

// TestFailedMountRemovesItsMountpoint: a mount that does not start leaves
// no folder it created behind (and keeps one that was there).
func TestFailedMountRemovesItsMountpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/stac/"
	ln.Close() // refused from now on
	t.Setenv("HOME", t.TempDir())
	t.Setenv("STACFS_CONFIG", "")
	for _, existed := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "mnt")
		if existed {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		code := run(context.Background(), []string{"mount", "--url", dead, "--start-timeout", "1s", dir}, &out, &out)
		if code != 1 {
			t.Errorf("mount of a dead catalog: exit %d, want 1\n%s", code, out.String())
		}
		if _, err := os.Stat(dir); (err == nil) != existed {
			t.Errorf("mount point there before: %v; after the failed mount: %v", existed, err)
		}
	}
}
