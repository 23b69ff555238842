package tests

import (
	"testing"
)

// runMayFail runs a command that may exit non-zero and returns its combined output and
// error (stacfs check exits 1 when a check fails).
func runMayFail(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	out, err := clientCommand(t, name, args...).CombinedOutput()
	return string(out), err
}
