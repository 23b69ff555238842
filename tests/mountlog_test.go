package tests

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stacfs/stacfs/fakestac"
)

// envTestBin hands the stacfs binary to the test binary run by
// TestMountLogOnlyOnFailure; envLogProbe tells TestLogProbe what to do.
const (
	envTestBin  = "STACFS_TEST_BIN"
	envLogProbe = "STACFS_TEST_LOG_PROBE"
)

// TestLogProbe is run by TestMountLogOnlyOnFailure in a test binary of its
// own: a mount test that passes or fails as told. Run by go test, it
// does nothing.
func TestLogProbe(t *testing.T) {
	probe := os.Getenv(envLogProbe)
	if probe == "" {
		return
	}
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	if _, err := os.ReadDir(m.Dir); err != nil {
		t.Fatal(err)
	}
	if probe == "fail" {
		t.Error("failing as asked")
	}
}

// TestMountLogOnlyOnFailure: go test -v prints a mount test's stacfs log
// only when the test fails.
func TestMountLogOnlyOnFailure(t *testing.T) {
	requireFUSE(t)
	for _, probe := range []string{"pass", "fail"} {
		cmd := clientCommand(t, os.Args[0], "-test.run", "^TestLogProbe$", "-test.v", "-test.count=1", "-test.timeout=5m")
		cmd.Env = append(os.Environ(), envTestBin+"="+stacfsBin, envLogProbe+"="+probe)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		failed := errors.As(err, &ee)
		if err != nil && !failed {
			t.Fatalf("%s: %v\n%s", probe, err, out)
		}
		logged := strings.Contains(string(out), "stacfs log:") && strings.Contains(string(out), "msg=mounted")
		if failed != (probe == "fail") || logged != (probe == "fail") {
			t.Errorf("probe %s: test failed %v, log printed %v; want both %v\n%s", probe, failed, logged, probe == "fail", out)
		}
	}
}
