package fs

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// readAheadKB is the kernel read-ahead asked for the mount: FUSE caps it at
// 128 KiB at mount time, which makes sequential readers (cp) send small,
// serial reads.
const readAheadKB = 1024

// raiseReadAhead sets the mount's kernel read-ahead (its backing device's
// read_ahead_kb) when allowed (root); best effort.
func (f *FS) raiseReadAhead(dir string) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return
	}
	p := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	if err := os.WriteFile(p, []byte(fmt.Sprint(readAheadKB)), 0o644); err != nil {
		f.log.Debug("kernel read-ahead left at its default", "file", p, "err", err)
	}
}
