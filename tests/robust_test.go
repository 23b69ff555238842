package tests

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stacfs/stacfs/fakestac"
)

// TestHostileNames: ids and hrefs with '/', NUL, "..", over 255 bytes,
// invalid UTF-8 and duplicates never break a listing.
func TestHostileNames(t *testing.T) {
	s := fakestac.New(fakestac.Options{})
	defer s.Close()
	day := ts("2024-05-05T10:00:00Z")
	long := strings.Repeat("x", 300)
	for _, col := range []string{"a/b", "..", "ok"} {
		s.AddCollection(fakestac.Collection{ID: col, Start: *ts("2024-01-01T00:00:00Z")})
	}
	ids := []string{"sl/ash", "..", "nul\x00x", long, "bad\xffutf8", "dup", "dup/"}
	for i, id := range ids {
		s.AddItem(fakestac.Item{ID: id, Collection: "ok", Datetime: day, Assets: map[string]fakestac.Asset{
			"a/b":  {Path: "/data/" + string(rune('a'+i)) + "/../x.tif", Size: 10, Seed: i},
			"..":   {Path: "/data/" + string(rune('a'+i)) + "/" + long + ".tif", Size: 10, Seed: i},
			"same": {Href: s.URL + "/data/same.tif", Size: 10, Seed: i},
		}})
	}
	m := startMount(t, configFor(s, ""))
	root := ls(t, m.Dir)
	if len(root) != 3 {
		t.Errorf("collections: %q", root)
	}
	dir := filepath.Join(m.Dir, "ok/2024/05/05")
	items := ls(t, dir)
	if len(items) != len(ids) {
		t.Errorf("items: got %d %q, want %d", len(items), items, len(ids))
	}
	seen := map[string]bool{}
	for _, it := range items {
		name := strings.TrimSuffix(it, "/")
		if seen[name] || len(name) > 255 || !utf8.ValidString(name) || name == ".." || strings.ContainsRune(name, 0) {
			t.Errorf("bad item name %q", name)
		}
		seen[name] = true
		files := ls(t, filepath.Join(dir, name))
		if len(files) < 2 {
			t.Errorf("item %q: %q", name, files)
		}
	}
	if again := ls(t, dir); strings.Join(again, "|") != strings.Join(items, "|") {
		t.Error("names are not stable across listings")
	}
}

// waitHeld waits until the server has received a GET that match selects and not yet
// answered it (a stalled read in flight).
func waitHeld(t *testing.T, srv *fakestac.Server, match func(fakestac.Request) bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		for _, r := range srv.Requests() {
			if r.Method == http.MethodGet && r.Status == 0 && match(r) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the read never reached the server")
		}
	}
}

// stallGETs makes srv hold every GET of a path ending in suffix for d: a read
// in flight, which waitHeld sees reach the server.
func stallGETs(srv *fakestac.Server, suffix string, d time.Duration) {
	srv.SetFault(func(r *http.Request) *fakestac.Fault {
		if strings.HasSuffix(r.URL.Path, suffix) && r.Method == http.MethodGet {
			return &fakestac.Fault{Stall: d}
		}
		return nil
	})
}

// TestCrashRecovery: kill -9 of a mount with a reader in flight leaves a
// dead mount ("transport endpoint is not connected"); stacfs mount on the
// same folder cleans it and mounts within 5 s.
func TestCrashRecovery(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	stallGETs(f.srv, "/B08.tif", 3*time.Second)
	begun := time.Now()
	m := startMount(t, configFor(f.srv, ""))
	clean := time.Since(begun) // a mount on a clean folder, under this machine's load
	path := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a/B08.tif")
	go os.ReadFile(path) // a reader in flight
	waitHeld(t, f.srv, func(r fakestac.Request) bool { return strings.HasSuffix(r.Path, "/B08.tif") })
	if err := m.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-m.done
	m.done <- nil
	if _, err := os.ReadDir(m.Dir); !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("after kill -9: ls gives %v, want ENOTCONN", err)
	}
	f.srv.SetFault(nil)
	start := time.Now()
	m2 := startMountOn(t, m.Dir, configFor(f.srv, ""))
	// Cleaning the dead mount costs at most 5 s over a mount on a clean folder (which
	// itself takes longer than usual on a loaded machine).
	if took := time.Since(start); took > clean+5*time.Second {
		t.Errorf("remount after a crash took %v (a clean mount %v)", took, clean)
	}
	if got := ls(t, m2.Dir); len(got) != 3 {
		t.Errorf("after remount: %q", got)
	}
}

// TestSIGTERMWithReadsInFlight: SIGTERM unmounts cleanly even while a read
// waits on a slow server.
func TestSIGTERMWithReadsInFlight(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	stallGETs(f.srv, "/B08.tif", 4*time.Second)
	m := startMount(t, configFor(f.srv, ""))
	go os.ReadFile(filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a/B08.tif"))
	waitHeld(t, f.srv, func(r fakestac.Request) bool { return strings.HasSuffix(r.Path, "/B08.tif") })
	start := time.Now()
	m.cmd.Process.Signal(syscall.SIGTERM)
	if exited, err := m.waitExit(10 * time.Second); !exited {
		t.Fatal("no exit 10 s after SIGTERM with a read in flight")
	} else if err != nil {
		t.Errorf("exit status after SIGTERM: %v", err)
	}
	if isMounted(m.Dir) {
		t.Error("still mounted")
	}
	t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
}

// TestDiskTierSurvivesRemount: with [cache] dir, a file read before a
// remount is read again after it without a request.
func TestDiskTierSurvivesRemount(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	cacheDir := t.TempDir()
	cfg := strings.Replace(configFor(f.srv, ""), "[cache]\n", fmt.Sprintf("[cache]\ndir = %q\ndisk = \"256MiB\"\n", cacheDir), 1)
	path := "S2/2023/03/15/S2A_20230315_a/B04.tif"
	m := startMount(t, cfg)
	first, err := os.ReadFile(filepath.Join(m.Dir, path))
	if err != nil {
		t.Fatal(err)
	}
	m.stop(t)
	m2 := startMount(t, cfg)
	before := settledGETs(f.srv, "/data/")
	second, err := os.ReadFile(filepath.Join(m2.Dir, path))
	if err != nil {
		t.Fatal(err)
	}
	// One ranged GET of the head tells the version; the bytes come from disk.
	if n := settledGETs(f.srv, "/data/") - before; n > 1 {
		t.Errorf("read after remount made %d data requests, want at most 1 (the version check)", n)
	}
	if !bytes.Equal(first, second) || !bytes.Equal(first, ramp(1, 0, bigSize)) {
		t.Error("bytes differ")
	}
}

// TestKilledReaderReturnsPromptly: a reader killed while its read waits on a
// stalled server is gone at once (stacfs answers the kernel's interrupt with
// EINTR), and the mount goes on serving.
func TestKilledReaderReturnsPromptly(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	f.srv.SetFault(func(r *http.Request) *fakestac.Fault {
		if strings.HasSuffix(r.URL.Path, "/B04.tif") && r.Method == http.MethodGet && r.Header.Get("Range") != "bytes=0-131071" {
			return &fakestac.Fault{Stall: 8 * time.Second}
		}
		return nil
	})
	m := startMount(t, configFor(f.srv, ""))
	path := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a/B04.tif")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dd", "if="+path, "of=/dev/null", "bs=1M", "skip=1", "count=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The read now waits on the stalled server.
	waitHeld(t, f.srv, func(r fakestac.Request) bool {
		return strings.HasSuffix(r.Path, "/B04.tif") && r.Range != "bytes=0-131071"
	})
	start := time.Now()
	cmd.Process.Kill()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
		t.Logf("killed reader gone after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(2 * time.Second):
		t.Fatal("a killed reader is still waiting 2 s later (D state)")
	}
	f.srv.SetFault(nil)
	if got := ls(t, filepath.Join(m.Dir, "S2/2023/03/15")); len(got) != 2 {
		t.Errorf("mount after the kill: %q", got)
	}
}
