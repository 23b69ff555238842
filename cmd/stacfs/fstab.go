package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
)

// The mount.fuse3 (fstab) form:
//
//	stacfs NAME MOUNTPOINT -o ro,config=/etc/stacfs/config.toml,allow_other,_netdev
//
// as mount.fuse3 runs it for an fstab line of type fuse.stacfs (device NAME)
// or of type fuse with device stacfs#NAME.

// isFstabForm reports whether args are the mount helper form: they hold
// -o (no command of stacfs has that flag), whatever the first word is, so
// a catalog named like a command ("demo", "check") still mounts from fstab
// (mount(8) always passes -o, at least with rw).
func isFstabForm(args []string) bool {
	if i := slices.Index(args, "--"); i >= 0 {
		args = args[:i]
	}
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "-o" || strings.HasPrefix(a, "-o") && len(a) > 2 && !strings.HasPrefix(a, "--")
	})
}

// valueOptions are the mount options that take a value, and the mount flag
// each becomes.
var valueOptions = map[string]string{
	"config": "--config", "log_file": "--log-file", "uid": "--uid", "gid": "--gid",
	"umask": "--umask", "file_mode": "--file-mode", "dir_mode": "--dir-mode",
	"start_timeout": "--start-timeout",
}

// switchOptions are the mount options without a value, and their flags.
var switchOptions = map[string]string{
	"allow_other": "--allow-other", "allow_root": "--allow-root", "debug": "--debug",
	"nonempty": "--allow-non-empty",
}

// ignoredMountOptions are generic mount options that mean nothing here.
var ignoredMountOptions = map[string]bool{
	"_netdev": true, "noauto": true, "auto": true, "nofail": true, "user": true, "users": true,
	"nouser": true, "defaults": true, "nosuid": true, "suid": true, "nodev": true, "dev": true,
	"exec": true, "noexec": true, "async": true, "atime": true, "noatime": true,
	"relatime": true, "nodiratime": true,
}

// parseFstab turns the helper form into `stacfs mount` arguments, and
// notes to log (an rw that was turned into a read-only mount).
func parseFstab(args []string) (margs, notes []string, err error) {
	var pos, opts []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-o":
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("%w: -o needs options", errUsage)
			}
			i++
			opts = append(opts, strings.Split(args[i], ",")...)
		case strings.HasPrefix(a, "-o"):
			opts = append(opts, strings.Split(a[2:], ",")...)
		case strings.HasPrefix(a, "-") && a != "-":
			// mount.fuse3 passes no other flag; -n (no mtab), -v, -f, -s
			// of mount(8) helpers mean nothing here.
			if a != "-n" && a != "-v" && a != "-f" && a != "-s" {
				return nil, nil, fmt.Errorf("%w: unknown flag %q", errUsage, a)
			}
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		return nil, nil, fmt.Errorf("%w: want NAME MOUNTPOINT -o OPTIONS, got %d arguments", errUsage, len(pos))
	}
	name := strings.TrimPrefix(pos[0], "stacfs#")
	if name == "" {
		return nil, nil, fmt.Errorf("%w: empty catalog name", errUsage)
	}
	out := []string{"--catalog", name, "--daemon"}
	for _, o := range opts {
		key, val, hasVal := strings.Cut(strings.TrimSpace(o), "=")
		switch {
		case key == "":
		case valueOptions[key] != "" && hasVal && val != "":
			out = append(out, valueOptions[key], val)
		case switchOptions[key] != "" && !hasVal:
			out = append(out, switchOptions[key])
		case key == "ro" && !hasVal:
		case key == "rw" && !hasVal:
			// mount(8) adds rw whenever ro is absent (defaults).
			notes = append(notes, "mount option rw: stacfs is read-only; mounting read-only")
		case ignoredMountOptions[key] && !hasVal, strings.HasPrefix(key, "x-"), key == "comment":
		default:
			return nil, nil, fmt.Errorf("%w: unknown mount option %q", errUsage, o)
		}
	}
	return append(out, pos[1]), notes, nil
}

// cmdFstab runs the helper form: a daemonized mount that returns once
// mounted.
func cmdFstab(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	margs, notes, err := parseFstab(args)
	if err != nil {
		return err
	}
	for _, n := range notes {
		slog.New(slog.NewTextHandler(stderr, nil)).Info(n)
	}
	return cmdMount(ctx, margs, stdout, stderr)
}
