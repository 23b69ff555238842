//go:build !linux

package fs

import "golang.org/x/sys/unix"

// errNoAttr is the errno of an unknown extended attribute (ENOATTR on
// macOS and the BSDs).
const errNoAttr = unix.ENOATTR
