package tests

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stacfs/stacfs/fakestac"
)

// TestCopyMemoryBounded: copying a file 16 times the cache's memory budget
// keeps the mount process's peak RSS within the budget plus a fixed
// overhead, twice over (the second copy evicts the first's blocks), and
// gives the right bytes. The binary is built without the race detector.
func TestCopyMemoryBounded(t *testing.T) {
	const (
		budget   = 16 << 20
		size     = 256 << 20
		overhead = 100 << 20 // Go runtime, go-fuse request buffers, HTTP buffers
	)
	s := fakestac.New(fakestac.Options{})
	t.Cleanup(s.Close)
	s.AddCollection(fakestac.Collection{ID: "S2", Start: *ts("2024-01-01T00:00:00Z")})
	s.AddItem(fakestac.Item{ID: "big", Collection: "S2", Datetime: ts("2024-01-02T10:00:00Z"),
		Assets: map[string]fakestac.Asset{"B04": {Path: "/data/big/B04.tif", Size: size, Seed: 5, FileSize: true}}})
	cfg := strings.Replace(configFor(s, ""), `memory = "64MiB"`, fmt.Sprintf(`memory = "%dMiB"`, budget>>20), 1)
	bin, err := plainBin()
	if err != nil {
		t.Fatal(err)
	}
	m := startMountWith(t, bin, "", cfg)
	file := filepath.Join(m.Dir, "S2/2024/01/02/big/B04.tif")

	want := sha256.New()
	for off := int64(0); off < size; off += 16 << 20 {
		want.Write(ramp(5, off, min(16<<20, size-off)))
	}
	for i := range 2 {
		out := filepath.Join(t.TempDir(), "copy.tif")
		if b, err := clientCommand(t, "cp", file, out).CombinedOutput(); err != nil {
			t.Fatalf("cp %d: %v: %s", i, err, b)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.New()
		_, err = io.Copy(got, f)
		f.Close()
		os.Remove(out)
		if err != nil || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
			t.Fatalf("copy %d: wrong bytes (%v)", i, err)
		}
		pid := m.cmd.Process.Pid
		t.Logf("after copy %d: RssAnon %d KiB, RssShmem %d KiB, VmHWM %d KiB", i, statusKiB(t, pid, "RssAnon"), statusKiB(t, pid, "RssShmem"), statusKiB(t, pid, "VmHWM"))
	}
	hwm := statusKiB(t, m.cmd.Process.Pid, "VmHWM") << 10
	t.Logf("peak RSS %d MiB for a %d MiB budget, %d MiB file copied twice", hwm>>20, budget>>20, size>>20)
	if hwm > budget+overhead {
		t.Errorf("peak RSS %d MiB, want at most %d MiB (budget) + %d MiB", hwm>>20, budget>>20, overhead>>20)
	}
}

// statusKiB returns a field of /proc/PID/status given in kB.
func statusKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if ok && name == field {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", field, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
