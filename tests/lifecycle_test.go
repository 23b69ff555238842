package tests

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stacfs/stacfs/fakestac"
)

// startDemo runs `stacfs demo dir` with stdout and stderr on one pipe (as
// `stacfs demo mnt 2>&1 | tee log`) and returns the command, the pipe's
// read end and the output read until the help's last line.
func startDemo(t *testing.T, dir string) (*exec.Cmd, *os.File, string) {
	t.Helper()
	requireFUSE(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(stacfsBin, "demo", dir)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		if isMounted(dir) {
			unmountLazy(dir)
		}
	})
	var out strings.Builder
	sc := bufio.NewScanner(r)
	deadline := time.AfterFunc(20*time.Second, func() { r.Close() })
	defer deadline.Stop()
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
			return cmd, r, out.String()
		}
	}
	t.Fatalf("stacfs demo printed no help:\n%s", out.String())
	return nil, nil, ""
}

// TestUnmountWithBrokenPipe: `stacfs demo mnt 2>&1 | tee log`, then Ctrl-C:
// tee dies first, and stacfs must still unmount (SIGPIPE ignored, unmount
// before the log line) and exit 0.
func TestUnmountWithBrokenPipe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnt")
	cmd, r, out := startDemo(t, dir)
	if !isMounted(dir) {
		t.Fatalf("help printed, but %s is not mounted:\n%s", dir, out)
	}
	r.Close() // tee is gone
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stacfs demo exited with %v after its stderr reader went away", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("stacfs demo did not exit on SIGINT")
	}
	if isMounted(dir) {
		t.Errorf("%s still in /proc/self/mountinfo after stacfs exited", dir)
	}
}

// TestDemoOnMountedFolder: a demo on a folder that is already a mount
// fails without printing its help ("Press Ctrl-C").
func TestDemoOnMountedFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnt")
	startDemo(t, dir)
	var stdout, stderr strings.Builder
	cmd := exec.Command(stacfsBin, "demo", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("second demo: %v, want exit 1", err)
	}
	if strings.Contains(stdout.String(), "Press Ctrl-C") || !strings.Contains(stderr.String(), "already mounted") {
		t.Errorf("second demo printed:\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

// TestMountCreatesMissingFolder: mount, like demo, creates a missing mount
// point (not its parents).
func TestMountCreatesMissingFolder(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	dir := filepath.Join(t.TempDir(), "new")
	m := startMountOn(t, dir, configFor(f.srv, ""))
	if _, err := os.ReadDir(filepath.Join(m.Dir, "S2")); err != nil {
		t.Errorf("list S2: %v", err)
	}
	out, errOut, code := runStacfs(t, "mount", "--config", m.Config, "--catalog", "fake", filepath.Join(t.TempDir(), "no", "such"))
	if code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("mount under a missing parent: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestBrokenCatalogBeside: a catalog whose credentials are missing does
// not keep the others from mounting: it shows as a folder whose listing
// fails with EACCES, and the log says why at ERROR.
func TestBrokenCatalogBeside(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	tmp := t.TempDir()
	cfg := configFor(f.srv, "") + fmt.Sprintf(`
[catalogs.locked]
url = %q
[catalogs.locked.auth]
type = "bearer"
token_file = %q
`, f.srv.STACURL, filepath.Join(tmp, "missing-token"))
	m := startMount(t, cfg, "--start-timeout", "5s")
	names, err := os.ReadDir(m.Dir)
	if err != nil || len(names) != 2 || names[0].Name() != "fake" || names[1].Name() != "locked" {
		t.Fatalf("root: %v, %v", names, err)
	}
	if _, err := os.ReadDir(filepath.Join(m.Dir, "fake", "S2")); err != nil {
		t.Errorf("the healthy catalog: %v", err)
	}
	if _, err := os.ReadDir(filepath.Join(m.Dir, "locked")); !errors.Is(err, syscall.EACCES) {
		t.Errorf("listing the broken catalog: %v, want EACCES", err)
	}
	if log, ok := m.logged("level=ERROR", "catalog=locked", "missing-token"); !ok {
		t.Errorf("no ERROR naming the catalog and the cause:\n%s", log)
	}
}

// TestSystemdNotify: with $NOTIFY_SOCKET (systemd Type=notify), stacfs
// sends READY=1 once the mount is up.
func TestSystemdNotify(t *testing.T) {
	requireFUSE(t)
	f := newFixture(t, fakestac.Options{})
	tmp := t.TempDir()
	sock := filepath.Join(tmp, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dir := mkdir(t, filepath.Join(tmp, "mnt"))
	cmd := exec.Command(stacfsBin, "mount", "--config", writeConfig(t, tmp, configFor(f.srv, "")), "--catalog", "fake", dir)
	log := &syncBuffer{}
	cmd.Stderr = log
	cmd.Env = append(os.Environ(), "HOME="+tmp, "STACFS_CONFIG=", "NOTIFY_SOCKET="+sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if isMounted(dir) {
			unmountLazy(dir)
			t.Error("still mounted")
		}
		if t.Failed() {
			t.Logf("stacfs log:\n%s", log)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 256)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	if string(buf[:n]) != "READY=1" {
		t.Errorf("notification %q, want READY=1", buf[:n])
	}
	if !isMounted(dir) {
		t.Error("READY=1 before the mount was up")
	}
}

// TestStatfsAndRootInode: stat -f, df and getconf NAME_MAX see real
// values; the root's inode is 1, not 0.
func TestStatfsAndRootInode(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	var st unix.Statfs_t
	if err := unix.Statfs(m.Dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Namelen != 255 || st.Bsize <= 0 || st.Frsize <= 0 || st.Blocks == 0 || st.Bfree > st.Blocks {
		t.Errorf("statfs %+v: want name length 255, a block size, the cache's size", st)
	}
	if got := st.Blocks * uint64(st.Bsize); got != 64<<20 {
		t.Errorf("size %d, want the cache's 64 MiB", got)
	}
	var s syscall.Stat_t
	if err := syscall.Stat(m.Dir, &s); err != nil || s.Ino != 1 {
		t.Errorf("root inode %d (%v), want 1", s.Ino, err)
	}
}

// TestOwnerAndModes: --uid, --gid and --umask (as rclone and s3fs spell
// them) set what stat shows.
func TestOwnerAndModes(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, "")+"\n[mount]\nfile_mode = \"0440\"\n", "--catalog", "fake", "--uid", "1234", "--gid", "5678", "--umask", "027")
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(m.Dir, "S2"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1234 || st.Gid != 5678 || st.Mode&0o7777 != 0o550 {
		t.Errorf("folder: uid %d gid %d mode %o, want 1234 5678 550", st.Uid, st.Gid, st.Mode&0o7777)
	}
	var json string
	_ = filepath.WalkDir(m.Dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "item.json" && json == "" {
			json = p
			return io.EOF
		}
		return nil
	})
	if json == "" {
		t.Fatal("no item.json in the mount")
	}
	if err := syscall.Stat(json, &st); err != nil || st.Mode&0o7777 != 0o440 || st.Uid != 1234 {
		t.Errorf("item.json: mode %o uid %d (%v), want 440 1234", st.Mode&0o7777, st.Uid, err)
	}
}
