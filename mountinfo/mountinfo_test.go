package mountinfo

import "testing"

func TestUnescape(t *testing.T) {
	cases := map[string]string{`/a/b`: "/a/b", `/tmp/my\040mnt`: "/tmp/my mnt", `/x\134y`: `/x\y`, `/bad\9`: `/bad\9`}
	for in, want := range cases {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMounted(t *testing.T) {
	if !Mounted("/") {
		t.Error("/ is not a mount point?")
	}
	if Mounted(t.TempDir()) {
		t.Error("a new folder is a mount point?")
	}
}

func TestFSTypeAndMountOf(t *testing.T) {
	if typ := FSType("/proc"); typ != "proc" {
		t.Errorf("FSType(/proc) = %q, want proc", typ)
	}
	if typ := FSType(t.TempDir()); typ != "" {
		t.Errorf("FSType(a plain folder) = %q, want \"\"", typ)
	}
	if m, err := MountOf("/proc/self/status"); err != nil || m != "/proc" {
		t.Errorf("MountOf(/proc/self/status) = %q, %v", m, err)
	}
}
