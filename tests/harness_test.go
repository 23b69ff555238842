// Package tests holds mount-level tests: the real stacfs binary mounts a
// fake catalog (package fakestac) on a real kernel mount, and real clients
// (the Go os package, cp, GDAL) read it as separate processes.
//
// A test that needs a tool (FUSE, GDAL) skips when the tool is missing,
// except under CI=true, where it fails.
package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
	"github.com/stacfs/stacfs/mountinfo"
)

// stacfsBin is the binary under test, built once by TestMain.
var stacfsBin string

func TestMain(m *testing.M) {
	if spec := os.Getenv(envWatchdog); spec != "" {
		os.Exit(runWatchdog(spec))
	}
	armPackageWatchdog()
	if bin := os.Getenv(envTestBin); bin != "" { // a test run by a test: the parent's binary
		stacfsBin = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "stacfs-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stacfsBin = filepath.Join(dir, "stacfs")
	// Bounded: this runs before m.Run arms go test's -timeout report, so a build that
	// hung would show only as the package being killed.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	out, err := exec.CommandContext(ctx, "go", "build", "-race", "-o", stacfsBin, "../cmd/stacfs").CombinedOutput()
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build stacfs: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// plainBin builds stacfs without the race detector, once, for tests that
// measure the process (the detector's shadow memory would dwarf what they
// measure).
var plainBin = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(stacfsBin), "stacfs-plain")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/stacfs").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build stacfs: %v\n%s", err, out)
	}
	return bin, nil
})

// requireTool skips (or, under CI, fails) when a tool is missing.
func requireTool(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		var err error
		if strings.HasPrefix(name, "/") {
			_, err = os.Stat(name)
		} else {
			_, err = exec.LookPath(name)
		}
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required (run scripts/install-deps.sh): %v", name, err)
			}
			t.Skipf("%s not available: %v", name, err)
		}
	}
}

func requireFUSE(t *testing.T) {
	t.Helper()
	requireTool(t, "/dev/fuse")
	if os.Getuid() != 0 {
		requireTool(t, "fusermount3")
	}
}

// mount is a running `stacfs mount` process.
type mount struct {
	Dir    string
	Config string // the config file it was started with
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
	hung   atomic.Bool // set by the watchdog (watch) that signalled stacfs
}

// syncBuffer is a bytes.Buffer safe for a process writer and test readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// configFor returns a config naming one catalog "fake" at srv, plus extra
// lines for its table.
func configFor(srv *fakestac.Server, extra string) string {
	return fmt.Sprintf("[cache]\nmemory = \"64MiB\"\n\n[catalogs.fake]\nurl = %q\n%s\n", srv.STACURL, extra)
}

// startMount writes config to a file and mounts catalog "fake" with it.
func startMount(t *testing.T, config string, args ...string) *mount {
	t.Helper()
	return startMountOn(t, "", config, args...)
}

// startMountOn is startMount on a given folder ("" for a new one).
func startMountOn(t *testing.T, dir, config string, args ...string) *mount {
	t.Helper()
	return startMountWith(t, stacfsBin, dir, config, args...)
}

// noConfigFile as the config of startMountWith starts stacfs without a
// config file (none in its $HOME either).
const noConfigFile = "\x00none"

// startMountWith is startMountOn with the stacfs binary bin.
func startMountWith(t *testing.T, bin, dir, config string, args ...string) *mount {
	t.Helper()
	requireFUSE(t)
	tmp := t.TempDir()
	cfg := ""
	if config != noConfigFile {
		cfg = writeConfig(t, tmp, config)
	}
	if dir == "" {
		dir = filepath.Join(tmp, "mnt")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if len(args) == 0 {
		args = []string{"--catalog", "fake"}
	}
	argv := []string{"mount"}
	if cfg != "" {
		argv = append(argv, "--config", cfg)
	}
	argv = append(argv, args...)
	if testing.Verbose() {
		argv = append(argv, "--log-level", "debug")
	}
	argv = append(argv, dir)
	m := &mount{Dir: dir, Config: cfg, stderr: &syncBuffer{}, done: make(chan error, 1)}
	m.cmd = exec.Command(bin, argv...)
	m.cmd.Stderr = m.stderr
	m.cmd.Env = append(os.Environ(), "HOME="+tmp, "STACFS_CONFIG=")
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { m.done <- m.cmd.Wait() }()
	t.Cleanup(func() { m.stop(t) })
	deadline := time.Now().Add(15 * time.Second)
	for !isMounted(dir) || !statOK(dir) {
		select {
		case err := <-m.done:
			m.done <- err
			t.Fatalf("stacfs mount exited before mounting: %v\n%s", err, m.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not mounted after 15s\n%s", m.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.watch(t, mountTestLimit)
	return m
}

// logged waits until stacfs's log holds a line with every one of parts and returns the
// log. stacfs writes the line before it answers the kernel, but its stderr reaches the
// test through a pipe and a copying goroutine, so the line may arrive a little after the
// answer; a loaded machine makes that "little" long.
func (m *mount) logged(parts ...string) (string, bool) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		log := m.stderr.String()
		for line := range strings.SplitSeq(log, "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return log, true
			}
		}
		if time.Now().After(deadline) {
			return log, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and checks for a clean exit and unmount.
func (m *mount) stop(t *testing.T) {
	t.Helper()
	if m.hung.Load() {
		t.Errorf("the test hung: %v after mounting it was still running; stacfs got %v (its goroutines are in its log below)", mountTestLimit, hangSignal)
	}
	if exited, _ := m.waitExit(0); !exited {
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
	}
	if exited, err := m.waitExit(15 * time.Second); !exited {
		_ = m.cmd.Process.Kill()
		t.Errorf("stacfs mount did not exit 15s after SIGTERM\n%s", m.stderr)
	} else if err != nil {
		t.Errorf("stacfs mount exited with %v\n%s", err, m.stderr)
	}
	if isMounted(m.Dir) {
		_ = syscall.Unmount(m.Dir, syscall.MNT_DETACH)
		t.Errorf("%s still mounted after stacfs exited", m.Dir)
	}
	// Only a failed test's log: go test -v of passing tests would print
	// megabytes of debug lines.
	if t.Failed() {
		t.Logf("stacfs log:\n%s", m.stderr)
	}
}

// statOK reports whether the mount on dir answers (a dead mount fails a
// listing with ENOTCONN, though the kernel may still answer stat).
func statOK(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return err == nil || err == io.EOF
}

// isMounted reports whether dir is a mount point.
func isMounted(dir string) bool { return mountinfo.Mounted(dir) }

// run runs a command and returns its stdout, failing the test on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := clientCommand(t, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// ramp returns the bytes the fake server generates for (seed, size).
func ramp(seed int, off, n int64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((int64(seed) + off + int64(i)) % 251)
	}
	return b
}

// unmountLazy detaches a mount left behind.
func unmountLazy(dir string) { _ = syscall.Unmount(dir, syscall.MNT_DETACH) }

// sameJSONAsAPI fails unless the mounted file holds the same JSON document
// as the API answers at url; it returns the decoded document.
func sameJSONAsAPI(t *testing.T, path, url string) map[string]any {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want, _ := io.ReadAll(resp.Body)
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", filepath.Base(path), err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s differs from the API's document:\n%s\nwant\n%s", filepath.Base(path), got, want)
	}
	return g
}

// writeConfig writes a config file (mode 600, as secrets need) into dir.
func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
