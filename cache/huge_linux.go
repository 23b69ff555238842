package cache

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on the platforms stacfs
// runs on.
const hugePage = 2 << 20

// adviseHuge asks the kernel to back the memory of p, rounded out to whole
// 2 MiB pages, with transparent huge pages (THP in its common "madvise"
// mode): filling a fresh buffer then costs one page fault per 2 MiB
// instead of one per 4 KiB, which is most of the CPU a cold copy spends in
// stacfs. Rounding out only marks the neighbouring heap memory too (buffers
// of a stream are allocated next to each other, so the huge page two of
// them share is covered). p must not have been written yet. Best effort:
// errors are ignored.
func adviseHuge(p []byte) {
	if len(p) < hugePage {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	lo := start &^ (hugePage - 1)
	hi := (start + uintptr(len(p)) + hugePage - 1) &^ (hugePage - 1)
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_HUGEPAGE)
}
