package fs

import "syscall"

// errNoAttr is the errno of an unknown extended attribute.
const errNoAttr = syscall.ENODATA
