package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

// The mount.fuse3 (fstab) form:
//
//	stacfs NAME MOUNTPOINT -o ro,config=/etc/stacfs/config.toml,allow_other,_netdev
//
// as mount.fuse3 runs it for an fstab line of type fuse.stacfs (device NAME)
// or of type fuse with device stacfs#NAME.

// isFstabForm reports whether args (not starting with a known command)
// look like the mount helper form.
func isFstabForm(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "-o" || strings.HasPrefix(a, "-o") && len(a) > 2 && !strings.HasPrefix(a, "--")
	})
}

// ignoredMountOptions are generic mount options that mean nothing here.
var ignoredMountOptions = map[string]bool{
	"_netdev": true, "noauto": true, "auto": true, "nofail": true, "user": true, "users": true,
	"nouser": true, "defaults": true, "nosuid": true, "suid": true, "nodev": true, "dev": true,
	"exec": true, "noexec": true, "async": true, "atime": true, "noatime": true,
	"relatime": true, "nodiratime": true,
}

// parseFstab turns the helper form into `stacfs mount` arguments.
func parseFstab(args []string) ([]string, error) {
	var pos, opts []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-o":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%w: -o needs options", errUsage)
			}
			i++
			opts = append(opts, strings.Split(args[i], ",")...)
		case strings.HasPrefix(a, "-o"):
			opts = append(opts, strings.Split(a[2:], ",")...)
		case strings.HasPrefix(a, "-") && a != "-":
			// mount.fuse3 passes no other flag; -n (no mtab), -v, -f, -s
			// of mount(8) helpers mean nothing here.
			if a != "-n" && a != "-v" && a != "-f" && a != "-s" {
				return nil, fmt.Errorf("%w: unknown flag %q", errUsage, a)
			}
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		return nil, fmt.Errorf("%w: want NAME MOUNTPOINT -o OPTIONS, got %d arguments", errUsage, len(pos))
	}
	name := strings.TrimPrefix(pos[0], "stacfs#")
	if name == "" {
		return nil, fmt.Errorf("%w: empty catalog name", errUsage)
	}
	out := []string{"--catalog", name, "--daemon"}
	for _, o := range opts {
		key, val, hasVal := strings.Cut(strings.TrimSpace(o), "=")
		switch {
		case key == "":
		case key == "config" && hasVal && val != "":
			out = append(out, "--config", val)
		case key == "log_file" && hasVal && val != "":
			out = append(out, "--log-file", val)
		case key == "allow_other" && !hasVal:
			out = append(out, "--allow-other")
		case key == "debug" && !hasVal:
			out = append(out, "--debug")
		case key == "ro" && !hasVal:
		case key == "rw" && !hasVal:
			return nil, fmt.Errorf("%w: option rw: stacfs is read-only", errUsage)
		case ignoredMountOptions[key] && !hasVal, strings.HasPrefix(key, "x-"), key == "comment":
		default:
			return nil, fmt.Errorf("%w: unknown mount option %q", errUsage, o)
		}
	}
	return append(out, pos[1]), nil
}

// cmdFstab runs the helper form: a daemonized mount that returns once
// mounted.
func cmdFstab(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	margs, err := parseFstab(args)
	if err != nil {
		return err
	}
	return cmdMount(ctx, margs, stdout, stderr)
}
