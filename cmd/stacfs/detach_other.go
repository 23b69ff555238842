//go:build !linux

package main

import (
	"fmt"
	"os/exec"

	"golang.org/x/sys/unix"
)

// detach forces dir's unmount (macOS and the BSDs have no lazy unmount):
// unmount(2) with MNT_FORCE, else umount -f.
func detach(dir string) error {
	uerr := unix.Unmount(dir, unix.MNT_FORCE)
	if uerr == nil {
		return nil
	}
	if out, err := exec.Command("umount", "-f", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("%v; umount -f: %v: %s", uerr, err, out)
	}
	return nil
}
