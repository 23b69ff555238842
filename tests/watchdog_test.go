package tests

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
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

// A mount test that hangs (a client blocked on a request that stacfs never answers)
// would hold the whole package until go test's -timeout, and CI shows only the last
// lines of that report: the name of the test and the place where stacfs stalled are
// lost. Two watchdogs turn a hang into a failure with both.

// mountTestLimit is how long a test may keep one mount. The slowest mount tests take
// one to two minutes on a loaded 2-core machine (TestFaultInjection, the zip tests
// running in parallel).
const mountTestLimit = 6 * time.Minute

// hangSignal makes a Go process print every goroutine to stderr and exit: stacfs's
// stacks land in the test's log, and its exit ends the kernel's pending requests with
// ENOTCONN, so whatever the test waits on returns.
const hangSignal = syscall.SIGQUIT

// watch arms the per-mount watchdog: a test still running limit after it mounted m
// sends hangSignal to its stacfs, and stop reports the hang.
func (m *mount) watch(t *testing.T, limit time.Duration) {
	ctx := t.Context()
	timer := time.AfterFunc(limit, func() {
		if ctx.Err() != nil {
			return
		}
		m.hung.Store(true)
		fmt.Fprintf(os.Stderr, "%s: still running %v after mounting %s: sending %v to stacfs (pid %d); its goroutines follow in the test's log\n",
			t.Name(), limit, m.Dir, hangSignal, m.cmd.Process.Pid)
		_ = m.cmd.Process.Signal(hangSignal)
	})
	t.Cleanup(func() { timer.Stop() })
}

// envWatchdog makes the test binary run as the package watchdog of the test binary
// whose pid it holds, with the deadline (Unix seconds) and the name of the processes
// to signal after it: "PID DEADLINE NAME".
const envWatchdog = "STACFS_TEST_WATCHDOG"

// armPackageWatchdog is the last resort for hangs that the per-mount watchdog cannot
// see: tests that start stacfs themselves (demo, fstab, lifecycle), and a test binary
// frozen whole. A thread blocked in a page fault on the mount is outside any system
// call, so Go's stop-the-world waits for it forever, and with it every goroutine of
// this process, its timers and the fake servers the fault waits for. So the watchdog
// is another process (this binary again, run with envWatchdog): 90 s before go test's
// -timeout it sends hangSignal to every stacfs this binary started, whose exit ends
// the kernel's pending requests; the frozen thread then faults, and the binary prints
// its stacks and exits, instead of being killed by go test with nothing said.
func armPackageWatchdog() {
	if !flag.Parsed() {
		flag.Parse()
	}
	f := flag.Lookup("test.timeout")
	if f == nil {
		return
	}
	timeout, err := time.ParseDuration(f.Value.String())
	if err != nil || timeout <= 2*time.Minute {
		return
	}
	deadline := time.Now().Add(timeout - 90*time.Second)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d stacfs", envWatchdog, os.Getpid(), deadline.Unix()))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: package watchdog not started: %v\n", err)
		return
	}
	go func() { _ = cmd.Wait() }()
}

// runWatchdog is the package watchdog's process (see armPackageWatchdog): it waits
// for the deadline while its test binary lives, then signals that binary's stacfs
// processes. It returns the exit code.
func runWatchdog(spec string) int {
	var ppid int
	var deadline int64
	var name string
	if _, err := fmt.Sscanf(spec, "%d %d %s", &ppid, &deadline, &name); err != nil {
		fmt.Fprintf(os.Stderr, "tests: %s=%q: %v\n", envWatchdog, spec, err)
		return 2
	}
	for syscall.Kill(ppid, 0) == nil {
		if time.Now().Unix() >= deadline {
			for _, pid := range childProcesses(ppid) {
				if processName(pid) != name {
					continue
				}
				fmt.Fprintf(os.Stderr, "tests: go test's -timeout is 90 s away: sending %v to %s (pid %d); a test is stuck on its mount\n", hangSignal, name, pid)
				_ = syscall.Kill(pid, hangSignal)
			}
			deadline = time.Now().Add(30 * time.Second).Unix() // and again for one started since
		}
		time.Sleep(2 * time.Second)
	}
	return 0
}

// childProcesses lists the processes whose parent is ppid (from /proc).
func childProcesses(ppid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so parse after its ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(ppid) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processName is the command name of pid, for the watchdog's line.
func processName(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// TestChildProcesses: the package watchdog finds a process this binary started.
func TestChildProcesses(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := false
	for _, pid := range childProcesses(os.Getpid()) {
		found = found || pid == cmd.Process.Pid
	}
	if !found {
		t.Errorf("childProcesses(%d) misses child %d", os.Getpid(), cmd.Process.Pid)
	}
	if got := processName(cmd.Process.Pid); got != "sleep" {
		t.Errorf("processName = %q, want sleep", got)
	}
}

// TestMountWatchdog: a read that the server never answers is ended by the per-mount
// watchdog: stacfs prints its goroutines (naming the stalled read) and exits, and the
// reader gets ENOTCONN instead of hanging the package.
func TestMountWatchdog(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakestac.Options{})
	f.srv.SetFault(func(r *http.Request) *fakestac.Fault {
		if strings.HasSuffix(r.URL.Path, "/B08.tif") && r.Method == http.MethodGet {
			return &fakestac.Fault{Stall: 10 * time.Minute}
		}
		return nil
	})
	m := startMount(t, configFor(f.srv, ""))
	read := make(chan error, 1)
	go func() {
		_, err := os.ReadFile(filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a/B08.tif"))
		read <- err
	}()
	waitHeld(t, f.srv, func(r fakestac.Request) bool { return strings.HasSuffix(r.Path, "/B08.tif") })
	m.watch(t, time.Second)
	select {
	case err := <-read:
		if !errors.Is(err, syscall.ENOTCONN) && !errors.Is(err, syscall.ECONNABORTED) {
			t.Errorf("the stalled read ended with %v, want ENOTCONN", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stalled read still waits 30 s after the watchdog")
	}
	err := <-m.done
	if !m.hung.Load() || err == nil {
		t.Errorf("watchdog: hung=%v, stacfs exit %v", m.hung.Load(), err)
	}
	if log := m.stderr.String(); !strings.Contains(log, "goroutine ") || !strings.Contains(log, "SIGQUIT") {
		t.Errorf("stacfs's log has no goroutine dump:\n%s", log)
	}
	// What the watchdog did is this test's expected outcome: let stop see a clean end.
	m.hung.Store(false)
	m.done <- nil
	f.srv.SetFault(nil)
	if err := syscall.Unmount(m.Dir, syscall.MNT_DETACH); err != nil {
		t.Errorf("unmount the dead mount: %v", err)
	}
}

// clientWaitDelay bounds how long a client command's Wait waits for its output pipes
// after the command exited: a daemon it started (stacfs mount --daemon, the fstab
// helper) may hold them open for as long as it lives.
const clientWaitDelay = 15 * time.Second

// clientCommand is exec.Command for a client run by a test: killed when the test
// ends, and its Wait bounded by clientWaitDelay once it exited.
func clientCommand(t *testing.T, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.WaitDelay = clientWaitDelay
	return cmd
}

// TestPackageWatchdog: the watchdog process signals, at its deadline, the stacfs
// processes of the binary it watches that have its name (a copy of sleep named so
// here, not to touch the stacfs of tests running beside it) and no other.
func TestPackageWatchdog(t *testing.T) {
	t.Parallel()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	const name = "wdtest-stacfs"
	fake := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(fake, b, 0o755); err != nil {
		t.Fatal(err)
	}
	start := func(name string) (*exec.Cmd, chan error) {
		cmd := exec.Command(name, "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd, done
	}
	_, stacfsDone := start(fake)
	_, otherDone := start(sleep)
	watchdog := clientCommand(t, os.Args[0])
	watchdog.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d %s", envWatchdog, os.Getpid(), time.Now().Unix(), name))
	var stderr syncBuffer
	watchdog.Stderr = &stderr
	if err := watchdog.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watchdog.Process.Kill(); _ = watchdog.Wait() })
	select {
	case err := <-stacfsDone:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != hangSignal {
			t.Errorf("the watched process ended with %v, want the signal %v", err, hangSignal)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the watchdog did not signal the watched process; its stderr:\n%s", stderr.String())
	}
	select {
	case err := <-otherDone:
		t.Errorf("the watchdog ended a process of another name: %v", err)
	default:
	}
	// The watchdog writes its line before it signals, but the line reaches stderr
	// through a pipe that a goroutine of exec copies: it may land after the exit.
	said := func() bool { return strings.Contains(stderr.String(), "sending quit to "+name) }
	for wait := time.Now().Add(10 * time.Second); !said() && time.Now().Before(wait); {
		time.Sleep(10 * time.Millisecond)
	}
	if !said() {
		t.Errorf("the watchdog said nothing of it: %q", stderr.String())
	}
}
