//go:build !linux

package cache

// adviseHuge does nothing outside Linux.
func adviseHuge([]byte) {}
