package tests

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeDemoCommand is a command of the README that works on the demo
// mount (./mnt), and the output lines the README shows for it.
type readmeDemoCommand struct {
	line int
	cmd  string
	want []string
}

// demoPath is a path under the demo's ./mnt (not /mnt/...).
var demoPath = regexp.MustCompile(`(^|[\s=])mnt/`)

// readmeDemoCommands extracts from README.md's code blocks the commands on
// paths under mnt/ ("$ ls mnt/..." with the output shown after it, and
// plain command lines such as "GDAL_PAM_ENABLED=NO gdalinfo mnt/...").
func readmeDemoCommands(t *testing.T) []readmeDemoCommand {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []readmeDemoCommand
	inBlock, n := false, 0
	var last *readmeDemoCommand
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inBlock, last = !inBlock, nil
			continue
		}
		if !inBlock {
			continue
		}
		cmd, prompt := strings.CutPrefix(line, "$ ")
		cmd, _, _ = strings.Cut(cmd, "  #") // a comment after the command
		switch {
		case demoPath.MatchString(cmd) && (prompt || !strings.HasPrefix(cmd, "#")):
			out = append(out, readmeDemoCommand{line: n, cmd: strings.TrimSpace(cmd)})
			last = &out[len(out)-1]
			if !prompt {
				last = nil // no output shown
			}
		case prompt:
			last = nil
		case last != nil && strings.TrimSpace(line) != "":
			last.want = append(last.want, strings.Fields(line)...)
		}
	}
	return out
}

// TestReadmeDemoCommands runs the README's demo commands against `stacfs
// demo` on ./mnt, as `make run` mounts it, and checks that they work and
// print what the README shows.
func TestReadmeDemoCommands(t *testing.T) {
	requireTool(t, "gdalinfo")
	cmds := readmeDemoCommands(t)
	if len(cmds) < 3 {
		t.Fatalf("found %d demo commands in README.md, want the first example's (ls, gdalinfo) at least", len(cmds))
	}
	work := t.TempDir()
	dir := filepath.Join(work, "mnt")
	cmd, r, _ := startDemo(t, dir)
	go func() { // keep draining the demo's output
		b := make([]byte, 4096)
		for {
			if _, err := r.Read(b); err != nil {
				return
			}
		}
	}()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("stacfs demo did not exit on SIGINT")
		}
	}()
	auxWarning := regexp.MustCompile(`(?i)aux\.xml`)
	for _, c := range cmds {
		sh := clientCommand(t, "sh", "-c", c.cmd)
		sh.Dir = work
		out, err := sh.CombinedOutput()
		if err != nil {
			t.Errorf("README.md:%d: %s: %v\n%s", c.line, c.cmd, err, out)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("README.md:%d: %s: output lacks %q, which the README shows\n%s", c.line, c.cmd, w, out)
			}
		}
		if strings.Contains(c.cmd, "GDAL_PAM_ENABLED=NO") && auxWarning.Match(out) {
			t.Errorf("README.md:%d: %s still warns about .aux.xml\n%s", c.line, c.cmd, out)
		}
	}
	// What the README's GDAL_PAM_ENABLED advice is for: without it, -stats
	// warns that it cannot write the sidecar on the read-only mount.
	tif := "mnt/sentinel-2-l2a-demo/2023/04/15/S2A_31UFS_20230415_0_L2A/B04.tif"
	sh := clientCommand(t, "gdalinfo", "-stats", tif)
	sh.Dir = work
	sh.Env = append(os.Environ(), "GDAL_PAM_ENABLED=YES")
	out, _ := sh.CombinedOutput()
	if !auxWarning.Match(out) {
		t.Errorf("gdalinfo -stats without GDAL_PAM_ENABLED=NO gave no .aux.xml warning, which the README explains:\n%s", out)
	}
}

// TestReadmeFacts: the README's Go version is go.mod's, and the tuning
// notes sit under docs/dev/, linked from docs/performance.md.
func TestReadmeFacts(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if m == nil || !strings.Contains(string(readme), "Go "+string(m[1])) {
		t.Errorf("README.md does not name go.mod's Go version %s", m[1])
	}
	if _, err := os.Stat("../docs/dev/performance-tuning.md"); err != nil {
		t.Error(err)
	}
	perf, _ := os.ReadFile("../docs/performance.md")
	if !strings.Contains(string(perf), "(dev/performance-tuning.md)") {
		t.Error("docs/performance.md does not link dev/performance-tuning.md")
	}
}
