package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeInstall: make install with PREFIX and DESTDIR puts the binary,
// the systemd unit (Type=notify, ExecStart on the installed binary) and
// the commands' help under DESTDIR/PREFIX.
func TestMakeInstall(t *testing.T) {
	requireTool(t, "make")
	dest := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "install", "DESTDIR="+dest, "PREFIX=/opt/stacfs")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	root := filepath.Join(dest, "opt/stacfs")
	out, err := exec.Command(filepath.Join(root, "bin/stacfs"), "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "stacfs ") {
		t.Errorf("installed stacfs version: %v %s", err, out)
	}
	unit, err := os.ReadFile(filepath.Join(root, "lib/systemd/system/stacfs.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "ExecStart=/opt/stacfs/bin/stacfs mount "} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("installed unit lacks %q", want)
		}
	}
	for _, f := range []string{"stacfs.txt", "stacfs-mount.txt", "stacfs-refresh.txt", "config.toml.example", "README.md"} {
		b, err := os.ReadFile(filepath.Join(root, "share/doc/stacfs", f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v (%d bytes)", f, err, len(b))
		}
	}
}
