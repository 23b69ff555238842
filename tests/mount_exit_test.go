package tests

import "time"

// waitExit waits up to d for the mount's stacfs process to exit and returns its
// exit error (nil for status 0); exited is false when it still runs after d. The
// error is put back in m.done, where stop finds it.
func (m *mount) waitExit(d time.Duration) (exited bool, err error) {
	select {
	case err := <-m.done:
		m.done <- err
		return true, err
	case <-time.After(d):
		return false, nil
	}
}
