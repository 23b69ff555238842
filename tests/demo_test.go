package tests

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoCommand runs `stacfs demo` as `make run` does, and checks that
// every path its help text suggests exists in the mount.
func TestDemoCommand(t *testing.T) {
	requireFUSE(t)
	dir := filepath.Join(t.TempDir(), "mnt")
	cmd := exec.Command(stacfsBin, "demo", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stacfs demo exited with %v\n%s", err, stderr)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("stacfs demo did not exit on SIGINT")
		}
		if isMounted(dir) {
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
			t.Error("still mounted after exit")
		}
	}()
	var hints []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
		if f := strings.Fields(line); len(f) > 1 && (f[0] == "ls" || f[0] == "gdalinfo" || f[0] == "cat" || f[0] == "gdal_translate") {
			hints = append(hints, line)
		}
	}
	go func() { // keep draining stdout
		for sc.Scan() {
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for !isMounted(dir) {
		if time.Now().After(deadline) {
			t.Fatalf("demo not mounted\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(hints) < 3 {
		t.Fatalf("demo printed too few hints: %q", hints)
	}
	for _, h := range hints {
		for _, f := range strings.Fields(h) {
			if !strings.HasPrefix(f, dir) {
				continue
			}
			matches, _ := filepath.Glob(f)
			if len(matches) == 0 {
				t.Errorf("hint %q: %s does not exist in the mount", h, f)
			}
			for _, m := range matches {
				if _, err := os.Stat(m); err != nil {
					t.Errorf("hint %q: %v", h, err)
				}
			}
		}
	}
	if _, err := exec.LookPath("gdalinfo"); err == nil || os.Getenv("CI") != "" {
		run(t, "gdalinfo", filepath.Join(dir, "sentinel-2-l2a-demo/2023/04/15/S2A_31UFS_20230415_0_L2A/B04.tif"))
	}
}
