package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/stacfs/stacfs/mountinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// mounted is a running FUSE mount process (stacfs or rclone).
type mounted struct {
	dir    string // mount point
	tmp    string // temp dir holding dir and the config; removed on stop
	file   string // the COG inside the mount
	cmd    *exec.Cmd
	done   chan error
	stderr *syncBuffer
	once   sync.Once
}

// live holds every mount that is not stopped yet, for cleanup on exit and on Ctrl-C.
var live = struct {
	sync.Mutex
	m map[*mounted]bool
}{m: map[*mounted]bool{}}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // keep the tail small: only the first MiB is kept
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mountStacfs mounts the bench catalog with a fresh stacfs process and waits until the
// COG of collection coll can be stat'ed (metadata comes from the unshaped STAC API).
func (b *bench) mountStacfs(ctx context.Context, coll string) (*mounted, error) {
	return b.mountStacfsAt(ctx, b.srv.stac.STACURL, filepath.Join(coll, itemTime.Format("2006/01/02"), itemID, assetName))
}

// mountStacfsWalk mounts the bench catalog and waits until rel (a path in
// the mount) can be stat'ed; mounted.file is rel in the mount.
func (b *bench) mountStacfsWalk(ctx context.Context, rel string) (*mounted, error) {
	return b.mountStacfsAt(ctx, b.srv.stac.STACURL, rel)
}

// mountStacfsAt mounts the catalog at stacURL with a fresh stacfs process and waits until
// rel (a path in the mount) can be stat'ed.
func (b *bench) mountStacfsAt(ctx context.Context, stacURL, rel string) (*mounted, error) {
	return b.mountStacfsWith(ctx, stacURL, rel, "")
}

// mountStacfsWith is mountStacfsAt with more config text (tables) appended.
func (b *bench) mountStacfsWith(ctx context.Context, stacURL, rel, extra string) (*mounted, error) {
	config := fmt.Sprintf("[cache]\nmemory = %q\n\n[catalogs.%s]\nurl = %q\n", cacheMemory, catalogName, stacURL) + extra
	tmp, dir, cfg, err := mountDirs("stacfs-bench-", "config.toml", config)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(b.stacfsBin, "mount", "--config", cfg, "--catalog", catalogName, dir)
	cmd.Env = append(cleanEnv(), "HOME="+tmp, "STACFS_CONFIG=")
	return startMount(ctx, cmd, tmp, dir, filepath.Join(dir, rel))
}

// mountRclone mounts the COG's folder at dirURL (through the proxy or straight)
// with rclone's http backend (no VFS cache, the default).
func (b *bench) mountRclone(ctx context.Context, sub, dirURL string) (*mounted, error) {
	tmp, dir, cfg, err := mountDirs("stacfs-bench-rclone-", "rclone.conf", "")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("rclone", sub, ":http:", dir, "--http-url", dirURL,
		"--read-only", "--config", cfg, "--log-level", "ERROR")
	cmd.Env = append(cleanEnv(), "HOME="+tmp)
	return startMount(ctx, cmd, tmp, dir, filepath.Join(dir, assetName))
}

// mountDirs makes a temp folder (named from prefix) holding a mount point
// "mnt" and, when config is not "", a config file of that name and content.
// It returns the folder, the mount point and the config file's path.
func mountDirs(prefix, config, content string) (tmp, dir, cfg string, err error) {
	if tmp, err = os.MkdirTemp("", prefix); err != nil {
		return "", "", "", err
	}
	dir = filepath.Join(tmp, "mnt")
	if err = os.Mkdir(dir, 0o755); err == nil && config != "" {
		cfg = filepath.Join(tmp, config)
		err = os.WriteFile(cfg, []byte(content), 0o600)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", "", "", err
	}
	return tmp, dir, cfg, nil
}

func startMount(ctx context.Context, cmd *exec.Cmd, tmp, dir, file string) (*mounted, error) {
	m := &mounted{dir: dir, tmp: tmp, file: file, cmd: cmd, done: make(chan error, 1), stderr: &syncBuffer{}}
	cmd.Stdout = m.stderr
	cmd.Stderr = m.stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	live.Lock()
	live.m[m] = true
	live.Unlock()
	go func() { m.done <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !isMounted(dir) {
		select {
		case err := <-m.done:
			m.done <- err
			m.stop()
			return nil, fmt.Errorf("%s exited before mounting: %v\n%s", cmd.Args[0], err, m.stderr)
		case <-ctx.Done():
			m.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.stop()
			return nil, fmt.Errorf("%s: not mounted after 20s\n%s", cmd.Args[0], m.stderr)
		}
	}
	// Walk to the file (lookups, item search): metadata only, not timed.
	if _, err := os.Stat(file); err != nil {
		m.stop()
		return nil, fmt.Errorf("stat %s: %v\n%s", file, err, m.stderr)
	}
	return m, nil
}

// pid is the mount process id.
func (m *mounted) pid() int { return m.cmd.Process.Pid }

// stop terminates the mount process (SIGTERM, then SIGKILL after 15 s), detaches the mount
// if it is left behind and removes the temp dir. Safe to call more than once.
func (m *mounted) stop() error {
	var err error
	m.once.Do(func() {
		select {
		case e := <-m.done:
			m.done <- e
		default:
			_ = m.cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case e := <-m.done:
			m.done <- e
		case <-time.After(15 * time.Second):
			_ = m.cmd.Process.Kill()
			err = fmt.Errorf("%s did not exit 15 s after SIGTERM", m.cmd.Args[0])
			<-time.After(time.Second)
		}
		if isMounted(m.dir) {
			_ = syscall.Unmount(m.dir, syscall.MNT_DETACH)
			if err == nil {
				err = fmt.Errorf("%s still mounted after %s exited", m.dir, m.cmd.Args[0])
			}
		}
		_ = os.RemoveAll(m.tmp)
		live.Lock()
		delete(live.m, m)
		live.Unlock()
	})
	return err
}

// stopAll stops every live mount (on exit, error or signal).
func stopAll() {
	live.Lock()
	ms := make([]*mounted, 0, len(live.m))
	for m := range live.m {
		ms = append(ms, m)
	}
	live.Unlock()
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Add(1)
		go func() { defer wg.Done(); _ = m.stop() }()
	}
	wg.Wait()
}

// isMounted reports whether dir is a mount point.
func isMounted(dir string) bool { return mountinfo.Mounted(dir) }

// peakRSS returns VmHWM (peak resident set) of a process in bytes.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// cleanEnv is the environment for child processes, without proxies (everything is on
// loopback) and without GDAL or stacfs settings of the caller.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		lk := strings.ToLower(k)
		if strings.HasSuffix(lk, "_proxy") || strings.HasPrefix(k, "GDAL_") || strings.HasPrefix(k, "CPL_") ||
			strings.HasPrefix(k, "VSI_") || strings.HasPrefix(k, "STACFS_") || strings.HasPrefix(k, "RCLONE_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
