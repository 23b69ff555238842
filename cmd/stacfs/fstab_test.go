package main

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFstabParse(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    []string // mount arguments; nil: a usage error
		wantErr string   // in the error
	}{
		{[]string{"fake", "/mnt/x", "-o", "ro,config=/etc/stacfs/config.toml,allow_other,_netdev"},
			[]string{"--catalog", "fake", "--daemon", "--config", "/etc/stacfs/config.toml", "--allow-other", "/mnt/x"}, ""},
		{[]string{"stacfs#cdse", "/mnt/x", "-o", "rw"}, []string{"--catalog", "cdse", "--daemon", "/mnt/x"}, ""},
		{[]string{"cdse", "/mnt/x", "-o", "defaults,rw,uid=1000,gid=100,umask=027,allow_root"},
			[]string{"--catalog", "cdse", "--daemon", "--uid", "1000", "--gid", "100", "--umask", "027", "--allow-root", "/mnt/x"}, ""},
		{[]string{"cdse", "/mnt/x", "-o", "file_mode=0440,dir_mode=0550,allow_other,start_timeout=5m"},
			[]string{"--catalog", "cdse", "--daemon", "--file-mode", "0440", "--dir-mode", "0550", "--allow-other", "--start-timeout", "5m", "/mnt/x"}, ""},
		{[]string{"demo", "/mnt/x", "-o", "rw,config=/etc/stacfs.toml"},
			[]string{"--catalog", "demo", "--daemon", "--config", "/etc/stacfs.toml", "/mnt/x"}, ""},
		{[]string{"stacfs#cdse", "/mnt/x", "-o", "ro"}, []string{"--catalog", "cdse", "--daemon", "/mnt/x"}, ""},
		{[]string{"cdse", "/mnt/x", "-o", "noauto,nofail,user,users,defaults,nosuid,nodev,exec,noexec,auto,x-systemd.automount,x-systemd.idle-timeout=60"},
			[]string{"--catalog", "cdse", "--daemon", "/mnt/x"}, ""},
		{[]string{"cdse", "/mnt/x", "-o", "debug,log_file=/var/log/stacfs.log"},
			[]string{"--catalog", "cdse", "--daemon", "--debug", "--log-file", "/var/log/stacfs.log", "/mnt/x"}, ""},
		{[]string{"cdse", "/mnt/x", "-oro,config=a", "-o", "allow_other"},
			[]string{"--catalog", "cdse", "--daemon", "--config", "a", "--allow-other", "/mnt/x"}, ""},
		{[]string{"-o", "ro", "cdse", "/mnt/x"}, []string{"--catalog", "cdse", "--daemon", "/mnt/x"}, ""},
		{[]string{"cdse", "/mnt/x", "-o", "ro,uid"}, nil, `"uid"`},
		{[]string{"cdse", "/mnt/x", "-o", "bogus"}, nil, `"bogus"`},
		{[]string{"cdse", "/mnt/x", "-o", "config="}, nil, `"config="`},
		{[]string{"cdse", "/mnt/x", "-o", "allow_other=1"}, nil, "allow_other=1"},
		{[]string{"cdse", "-o", "ro"}, nil, "NAME MOUNTPOINT"},
		{[]string{"cdse", "/mnt/x", "extra", "-o", "ro"}, nil, "NAME MOUNTPOINT"},
		{[]string{"cdse", "/mnt/x", "-o"}, nil, "-o needs"},
		{[]string{"stacfs#", "/mnt/x", "-o", "ro"}, nil, "empty"},
		{[]string{"cdse", "/mnt/x", "-x", "-o", "ro"}, nil, `"-x"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, _, err := parseFstab(tc.args)
			if tc.want == nil {
				if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseFstab = %q, %v; want a usage error naming %s", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("parseFstab = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestFstabDetect(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"fake", "/mnt", "-o", "ro"}, true},
		{[]string{"fake", "/mnt", "-oro"}, true},
		{[]string{"fake", "/mnt"}, false},
		{[]string{"fake", "--other"}, false},
		{[]string{"demo", "/mnt", "-o", "rw"}, true},
		{[]string{"check", "/mnt", "-orw,config=x"}, true},
		{[]string{"mount", "/mnt", "--", "-o"}, false},
	} {
		if got := isFstabForm(tc.args); got != tc.want {
			t.Errorf("isFstabForm(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestFstabRunExitCodes(t *testing.T) {
	var out, errb strings.Builder
	missing := filepath.Join(t.TempDir(), "none.toml")
	if code := run(t.Context(), []string{"fake", t.TempDir(), "-o", "rw,config=" + missing}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "mounting read-only") || !strings.Contains(errb.String(), "none.toml") {
		t.Errorf("-o rw: exit %d, stderr %q; want the INFO line on rw, then the config error", code, errb.String())
	}
	errb.Reset()
	// A catalog named like a command: the -o makes it the helper form.
	if code := run(t.Context(), []string{"demo", t.TempDir(), "-o", "rw,config=" + missing}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "none.toml") {
		t.Errorf("catalog demo: exit %d, stderr %q; want a mount of catalog demo (config error)", code, errb.String())
	}
	errb.Reset()
	if code := run(t.Context(), []string{"fake", t.TempDir(), "-o", "ro,frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "frobnicate") {
		t.Errorf("unknown option: exit %d, stderr %q; want 2 naming it", code, errb.String())
	}
}

func TestDaemonArgs(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"--daemon", "--config", "c", "/m"}, []string{"--config", "c", "/m"}},
		{[]string{"-daemon", "--log-file", "l", "/m", "--debug"}, []string{"/m", "--debug"}},
		{[]string{"--daemon=true", "--log-file=l", "--catalog", "x", "/m"}, []string{"--catalog", "x", "/m"}},
		{[]string{"/m", "--", "--daemon"}, []string{"/m", "--", "--daemon"}},
	} {
		if got := daemonArgs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("daemonArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
