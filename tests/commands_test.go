package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

func TestPrefetch(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	item := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a")
	prefix := "/data/s2/S2A_20230315_a/"
	f.srv.Reset()

	out, errOut, code := runStacfs(t, "prefetch", "--jobs", "3", item)
	if code != 0 {
		t.Fatalf("prefetch: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if want := int64(bigSize + smallSize + 50<<10); f.srv.BytesServed(prefix) < want {
		t.Errorf("server served %d bytes of the item's assets, want at least %d", f.srv.BytesServed(prefix), want)
	}
	if !strings.Contains(out, "prefetched 4 files, ") || !strings.Contains(out, ", 0 failed") {
		t.Errorf("no summary line in the output:\n%s", out)
	}
	if strings.Contains(out, "\r") || strings.Contains(out, "\x1b[") {
		t.Errorf("terminal control codes in non-terminal output: %q", out)
	}

	// Warm: a second prefetch (a file and the folder) asks the server for no data.
	f.srv.Reset()
	out, errOut, code = runStacfs(t, "prefetch", item+"/B08.tif", item)
	if code != 0 {
		t.Fatalf("second prefetch: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := f.srv.Count("/data/"); n != 0 {
		t.Errorf("second prefetch made %d data requests, want 0", n)
	}
	if !strings.Contains(out, "prefetched 5 files, ") {
		t.Errorf("summary of the second prefetch:\n%s", out)
	}

	// A missing path fails with exit 1, and is named.
	out, errOut, code = runStacfs(t, "prefetch", item+"/nope.tif", item+"/item.json")
	if code != 1 || !strings.Contains(errOut, "nope.tif") || !strings.Contains(out, "prefetched 1 file, ") || !strings.Contains(out, "1 failed") {
		t.Errorf("missing path: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if _, _, code := runStacfs(t, "prefetch"); code != 2 {
		t.Errorf("prefetch without PATH: exit %d, want 2", code)
	}
}

// TestPrefetchRefusesOtherPaths: a path outside a stacfs mount is refused
// with one line and exit 2 (reading it would warm no cache of stacfs).
// The walk's rules (no symbolic links followed) are unit-tested in cmd/stacfs.
func TestPrefetchRefusesOtherPaths(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "a"), "/etc/hostname"} {
		out, errOut, code := runStacfs(t, "prefetch", p)
		if code != 2 || out != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "not in a stacfs mount") {
			t.Errorf("prefetch %s: exit %d, want 2 and one line\nstdout:\n%s\nstderr:\n%s", p, code, out, errOut)
		}
	}
}

func TestDaemonMount(t *testing.T) {
	requireFUSE(t)
	f := newFixture(t, fakestac.Options{})
	tmp := t.TempDir()
	cfg := writeConfig(t, tmp, configFor(f.srv, ""))
	dir := mkdir(t, filepath.Join(tmp, "mnt"))
	logFile := filepath.Join(tmp, "stacfs.log")
	out, errOut, code := runStacfs(t, "mount", "--daemon", "--log-file", logFile, "--config", cfg, "--catalog", "fake", dir)
	if code != 0 {
		t.Fatalf("mount --daemon: exit %d\n%s\n%s", code, out, errOut)
	}
	pid := daemonPid(t, dir)
	checkDaemonMount(t, f, dir, pid)
	if b, _ := os.ReadFile(logFile); !bytes.Contains(b, []byte("mounted")) {
		t.Errorf("log file lacks the mount:\n%s", b)
	}

	// A bad config: the parent reports the child's error, exit 1.
	bad := filepath.Join(tmp, "bad.toml")
	if err := os.WriteFile(bad, []byte(configFor(f.srv, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runStacfs(t, "mount", "--daemon", "--config", bad, "--catalog", "nosuch", dir)
	if code != 1 || !strings.Contains(errOut, "nosuch") {
		t.Errorf("unknown catalog: exit %d, stderr:\n%s", code, errOut)
	}
	if isMounted(dir) {
		unmountLazy(dir)
		t.Error("mounted after a failed start")
	}
}

// TestMountURLWithoutConfig: a new user mounts a public STAC API with one
// command, no config file: --url, and --collections to show only some.
func TestMountURLWithoutConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakestac.Options{})
	m := startMountOn(t, "", noConfigFile, "--url", f.srv.STACURL, "--collections", "S2,EMPTY")
	entries, err := os.ReadDir(m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "EMPTY S2" {
		t.Errorf("root: %q, want the two collections asked for: \"EMPTY S2\"", got)
	}
	b04 := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a/B04.tif")
	got, err := os.ReadFile(b04)
	if err != nil {
		t.Fatal(err)
	}
	if want := ramp(1, 0, bigSize); !bytes.Equal(got, want) {
		t.Errorf("B04.tif: %d bytes, not the asset's %d", len(got), len(want))
	}
}

// TestNoConfigFileHint: without a config file, mount says how to start
// without one.
func TestNoConfigFileHint(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	cmd := clientCommand(t, stacfsBin, "mount", filepath.Join(home, "mnt"))
	cmd.Env = append(os.Environ(), "HOME="+home, "STACFS_CONFIG=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}
	for _, want := range []string{"config.toml: no such file", "stacfs mount --url", "--preset planetary-computer", "stacfs demo"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestFstabForm(t *testing.T) {
	requireFUSE(t)
	f := newFixture(t, fakestac.Options{})
	tmp := t.TempDir()
	// A catalog named like a command (demo) mounts from fstab too.
	cfg := writeConfig(t, tmp, configFor(f.srv, "")+fmt.Sprintf("\n[catalogs.demo]\nurl = %q\n", f.srv.STACURL))
	dir := mkdir(t, filepath.Join(tmp, "mnt"))

	_, errOut, code := runStacfs(t, "fake", dir, "-o", "ro,config="+cfg+",frob")
	if code != 2 || !strings.Contains(errOut, "frob") {
		t.Errorf("unknown option: exit %d, want 2; stderr:\n%s", code, errOut)
	}
	if isMounted(dir) {
		t.Fatal("mounted after a refused command line")
	}

	// mount(8) adds rw when ro is absent ("defaults"): mounted read-only.
	out, errOut, code := runStacfs(t, "stacfs#fake", dir, "-o", "defaults,rw,config="+cfg+",_netdev,nofail,x-systemd.automount")
	if code != 0 || !strings.Contains(errOut, "mounting read-only") {
		t.Fatalf("fstab form with rw: exit %d\n%s\n%s", code, out, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("write on the rw-asked mount: %v, want EROFS", err)
	}
	checkDaemonMount(t, f, dir, daemonPid(t, dir))

	out, errOut, code = runStacfs(t, "demo", dir, "-o", "rw,config="+cfg)
	if code != 0 {
		t.Fatalf("fstab form of catalog demo: exit %d\n%s\n%s", code, out, errOut)
	}
	checkDaemonMount(t, f, dir, daemonPid(t, dir))
}

// checkDaemonMount reads a file of a daemonized mount, unmounts it and
// checks that its process exits.
func checkDaemonMount(t *testing.T, f *fixture, dir string, pid int) {
	t.Helper()
	if !isMounted(dir) {
		t.Fatal("not mounted when the command returned")
	}
	b, err := os.ReadFile(filepath.Join(dir, "S2/2023/03/15/S2A_20230315_a/B08.tif"))
	if err != nil || !bytes.Equal(b, ramp(f.items["S2A_20230315_a"].Assets["B08"].Seed, 0, smallSize)) {
		t.Fatalf("read through the daemon's mount: %v (%d bytes)", err, len(b))
	}
	if err := syscall.Unmount(dir, 0); err != nil {
		t.Fatalf("unmount: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("background stacfs (pid %d) still running 15s after the unmount", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runStacfs runs the binary and returns stdout, stderr and the exit status.
func runStacfs(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, stacfsBin, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "STACFS_CONFIG=")
	cmd.WaitDelay = 5 * time.Second // a background child must not hold the pipes
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &ee) && ee.Exited():
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	t.Fatalf("stacfs %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	return "", "", -1
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// daemonPid finds the background stacfs serving dir, and makes sure the
// test leaves neither it nor the mount behind.
func daemonPid(t *testing.T, dir string) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) > 1 && args[0] == stacfsBin && args[1] == "mount" && args[len(args)-1] == dir && processAlive(pid) {
			t.Cleanup(func() {
				if isMounted(dir) {
					unmountLazy(dir)
				}
				if processAlive(pid) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			return pid
		}
	}
	t.Fatalf("no background stacfs process for %s", dir)
	return 0
}

// processAlive reports whether pid runs (a zombie has exited).
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}
