// Package mountinfo tells whether a folder is a mount point and whether the
// file system mounted there still has its server. The stacfs command uses it
// to clean stale mounts; the tests and the benchmark use it to wait for
// mounts.
package mountinfo

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Mounted reports whether dir is a mount point (per /proc/self/mountinfo).
func Mounted(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && unescape(f[4]) == abs {
			return true
		}
	}
	return false
}

// Stale reports whether the file system mounted on dir has lost its server
// ("transport endpoint is not connected"). The kernel may answer stat from
// its cache, so it lists the folder.
func Stale(dir string) bool {
	f, err := os.Open(dir)
	if err == nil {
		_, err = f.Readdirnames(1)
		f.Close()
	}
	return errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED)
}

// unescape undoes the octal escapes (\040 for a space) of mountinfo.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// FSType is the type of the file system mounted on dir ("fuse.stacfs",
// "ext4"), from /proc/self/mountinfo, or "" when dir is not a mount point.
func FSType(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	typ := ""
	for _, line := range strings.Split(string(data), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
		f := strings.Fields(line)
		if len(f) < 5 || unescape(f[4]) != abs {
			continue
		}
		for i := 5; i+1 < len(f); i++ {
			if f[i] == "-" {
				typ = f[i+1] // the last mount on dir is the one seen
				break
			}
		}
	}
	return typ
}

// MountOf returns the mount point that holds path (itself or the nearest
// folder above it that is a mount point).
func MountOf(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	for dir := abs; ; dir = filepath.Dir(dir) {
		if Mounted(dir) || dir == filepath.Dir(dir) {
			return dir, nil
		}
	}
}
