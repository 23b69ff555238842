//go:build !linux

package fs

// raiseReadAhead does nothing where the kernel's read-ahead of a mount is
// not a file of /sys (macOS: macFUSE sets its own).
func (f *FS) raiseReadAhead(string) {}
