package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stacfs/stacfs/mountinfo"
)

// daemonSlack is how long `mount --daemon` waits for the mount beyond the
// child's --start-timeout (its catalogs' start-up retries).
const daemonSlack = 30 * time.Second

// envDaemonQuiet tells a daemonized child that its stderr is a temporary
// file, to be replaced by /dev/null once mounted.
const envDaemonQuiet = "STACFS_DAEMON_QUIET"

// daemonize re-executes stacfs with args minus --daemon and --log-file in
// the background (new session, stdin/stdout on /dev/null, stderr on
// logFile or discarded) and waits until dir is mounted or the child exits.
func daemonize(args []string, dir, logFile string, startTimeout time.Duration) error {
	daemonTimeout := startTimeout + daemonSlack
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if mountinfo.Mounted(abs) && !mountinfo.Stale(abs) {
		return fmt.Errorf("mountpoint %s: already mounted", dir)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	// The child's stderr: the log file, else a temporary file that gives
	// the error text of a failed start (the child swaps it for /dev/null
	// once mounted).
	var errf *os.File
	var start int64
	env := os.Environ()
	if logFile != "" {
		if errf, err = os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		if fi, err := errf.Stat(); err == nil {
			start = fi.Size()
		}
	} else {
		if errf, err = os.CreateTemp("", "stacfs-daemon-*.log"); err != nil {
			return err
		}
		defer os.Remove(errf.Name())
		env = append(env, envDaemonQuiet+"=1")
	}
	defer errf.Close()

	cmd := exec.Command(exe, append([]string{"mount"}, daemonArgs(args)...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, errf
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	childErr := func() string {
		b, _ := os.ReadFile(errf.Name())
		if int64(len(b)) >= start {
			b = b[start:]
		}
		return strings.TrimSpace(string(b))
	}
	deadline := time.After(daemonTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			if mountinfo.Mounted(abs) && !mountinfo.Stale(abs) {
				return nil // mounted, then the child was stopped already
			}
			return fmt.Errorf("mount failed (%v):\n%s", err, childErr())
		case <-deadline:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return fmt.Errorf("not mounted after %s; stopped the background process:\n%s", daemonTimeout, childErr())
		case <-tick.C:
			if mountinfo.Mounted(abs) && !mountinfo.Stale(abs) {
				_ = cmd.Process.Release()
				return nil
			}
		}
	}
}

// daemonArgs is args without --daemon and --log-file (in any flag form).
func daemonArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			out = append(out, a)
			continue
		}
		switch name {
		case "daemon":
			continue
		case "log-file":
			if !hasValue {
				i++ // skip the value
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

// daemonMounted is called once mounted: a daemonized child whose stderr is
// a temporary file moves it to /dev/null (the parent has what it needs).
func daemonMounted() {
	if os.Getenv(envDaemonQuiet) == "" {
		return
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer null.Close()
	_ = unix.Dup2(int(null.Fd()), 2)
}

// openLogFile opens --log-file for appending (for a foreground mount).
func openLogFile(path string, stderr io.Writer) (io.Writer, func(), error) {
	if path == "" {
		return stderr, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	return f, func() { f.Close() }, nil
}
