package main

import (
	"fmt"
	"os/exec"
	"syscall"
)

// detach unmounts dir lazily (MNT_DETACH; fusermount3 -u -z when not
// root): the mount goes at once, open files keep working until closed.
func detach(dir string) error {
	uerr := syscall.Unmount(dir, syscall.MNT_DETACH)
	if uerr == nil {
		return nil
	}
	if out, err := exec.Command("fusermount3", "-u", "-z", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("%v; fusermount3: %v: %s", uerr, err, out)
	}
	return nil
}
