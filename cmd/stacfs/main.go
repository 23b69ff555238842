// Command stacfs mounts STAC API catalogs as a read-only file system, so
// that ls, cp, GDAL, QGIS and any file-based tool can work on remote
// Earth-observation scenes as if they were local files.
//
// Usage:
//
//	stacfs mount [--config FILE] [--catalog NAME] [--daemon] MOUNTPOINT
//	stacfs prefetch [--jobs N] PATH...
//	stacfs refresh PATH...
//	stacfs NAME MOUNTPOINT -o OPTIONS (mount.fuse3 / fstab form)
//	stacfs demo [MOUNTPOINT]
//	stacfs token [--config FILE] --catalog NAME
//	stacfs check [--config FILE] [--catalog NAME]
//	stacfs version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"
)

// version is set with -ldflags "-X main.version=..." by make.
var version = ""

// errUsage marks a bad command line: exit status 2.
var errUsage = errors.New("usage")

const usage = `stacfs mounts STAC API catalogs as a read-only file system.

The mount shows one folder per catalog, <catalog>/<collection>/<YYYY>/<MM>/<DD>/<item>/,
each item with item.json and its asset files (with --catalog NAME the root is
that catalog's folder: <collection>/<YYYY>/...). Reading a file becomes HTTP
Range requests behind a block cache.

Usage:
  stacfs mount [--config FILE] [--catalog NAME] [--daemon] MOUNTPOINT
        mount the configured catalogs (one folder each), or only NAME;
        --url URL or --preset NAME mount one catalog without a config table
        (or file), --collections A,B only some of its collections;
        --daemon returns once mounted and serves in the background;
        --cache-memory, --cache-dir, --cache-disk, --metadata-ttl override
        the config; --uid, --gid, --umask, --file-mode, --dir-mode set owners
        and modes
  stacfs prefetch [--jobs N] PATH...
        read files or whole folders of a mount in parallel to warm the caches
  stacfs NAME MOUNTPOINT -o ro,config=FILE[,allow_other,debug,...]
        the mount.fuse3 form, for fstab: a daemonized mount of catalog NAME
  stacfs demo [MOUNTPOINT]
        serve the built-in demo catalog on loopback and mount it (default ./mnt)
  stacfs refresh PATH...
        list a folder of a mount and the folders below it again now, not
        after metadata_ttl (new items show at once)
  stacfs token [--config FILE] --catalog NAME | --preset NAME
        print a fresh access token of a catalog (for curl or GDAL_HTTP_HEADERS)
  stacfs check [--config FILE] [--catalog NAME | --url URL | --preset NAME]
        check the config, sign-in, landing page, collections and search
  stacfs version
        print the version

Examples:
  stacfs demo mnt                          try it: no account, no network
  stacfs mount --url https://earth-search.aws.element84.com/v1 ~/stac
                                           any public STAC API, no config file
  stacfs mount --preset planetary-computer --collections sentinel-2-l2a ~/pc
  stacfs mount --catalog esa-maap ~/stac   one catalog's collections at the root
  ls ~/stac/BiomassLevel1b/2025/07/03/
  gdalinfo ~/stac/sentinel-2-l2a/2024/06/12/<item>/B04.tif
  cp ~/stac/.../<item>/*.zip .             streams without length work too
  getfattr -d ~/stac/.../<item>/B04.tif    STAC metadata as user.stac.* xattrs
  stacfs prefetch ~/stac/sentinel-2-l2a/2024/06/12
  stacfs mount --metrics 127.0.0.1:9477 ~/stac   Prometheus metrics at /metrics
  curl -H "Authorization: Bearer $(stacfs token --catalog esa-maap)" URL

Providers: preset = "esa-maap" | "terrascope" | "earthplatform" |
"planetary-computer" | "earthdata" | "cdse" in the config (or --preset) fills
endpoints, client ids, scopes and hosts; you add the credential file you
already have (credentials.txt, EDS.env, .netrc) or username/password.

Run "stacfs COMMAND --help" for a command's flags (logging: --log-level,
--log-format text|json, --debug on mount and demo).
Config: --config, else $STACFS_CONFIG, else ~/.config/stacfs/config.toml.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	if isFstabForm(args) { // stacfs NAME MOUNTPOINT -o OPTIONS, from mount.fuse3, whatever NAME is
		err = cmdFstab(ctx, args, stdout, stderr)
		return exitStatus(err, stderr)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "mount":
		err = cmdMount(ctx, rest, stdout, stderr)
	case "prefetch":
		err = cmdPrefetch(ctx, rest, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, stdout, stderr)
	case "token":
		err = cmdToken(ctx, rest, stdout, stderr)
	case "refresh":
		err = cmdRefresh(ctx, rest, stdout, stderr)
	case "check":
		if err = cmdCheck(ctx, rest, stdout, stderr); errors.Is(err, errChecksFailed) {
			return 1 // the report says what failed
		}
	case "version", "--version":
		err = cmdVersion(rest, stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "stacfs: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	return exitStatus(err, stderr)
}

// exitStatus prints err once and returns the exit status: 0, 2 for a bad
// command line, else 1.
func exitStatus(err error, stderr io.Writer) int {
	switch {
	case err == nil || errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "stacfs:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "stacfs:", err)
		return 1
	}
}

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("version", "stacfs version", stdout, stderr)
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError(fl, "version takes no arguments")
	}
	fmt.Fprintln(stdout, "stacfs", versionString())
	return nil
}

func versionString() string {
	if version != "" {
		return version
	}
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	return v
}

// logFlags are the logging flags every long-running command takes.
type logFlags struct {
	level  string
	format string
	debug  bool
}

func (l *logFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "log `LEVEL`: debug, info, warn, error")
	fs.StringVar(&l.format, "log-format", "text", "log `FORMAT`: text or json")
	fs.BoolVar(&l.debug, "debug", false, "log FUSE operations and HTTP requests (secrets redacted)")
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, l.level)
	}
	if l.debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(l.format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w: --log-format %q: want text or json", errUsage, l.format)
}

// flagSet is a command's flags with its synopsis: help asked for (-h,
// --help) goes to stdout, the usage after a mistake to stderr.
type flagSet struct {
	*pflag.FlagSet
	synopsis       string
	stdout, stderr io.Writer
}

// newFlagSet returns a GNU-style flag set (spf13/pflag: --name, --name=value,
// flags anywhere among the arguments) whose errors are usage errors.
func newFlagSet(name, synopsis string, stdout, stderr io.Writer) *flagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	f := &flagSet{FlagSet: fs, synopsis: synopsis, stdout: stdout, stderr: stderr}
	fs.Usage = func() { f.printUsage(stderr) }
	return f
}

// printUsage writes the synopsis and the flags to w.
func (f *flagSet) printUsage(w io.Writer) {
	if f.Lookup("help") == nil { // listed last; parse handles it
		f.BoolP("help", "h", false, "show this help")
	}
	fmt.Fprintf(w, "Usage: %s\n\nFlags:\n%s", f.synopsis, f.FlagUsages())
}

// usageError prints fl's usage and returns a usage error saying what was wrong.
func usageError(fl *flagSet, what string) error {
	fl.printUsage(fl.stderr)
	return fmt.Errorf("%w: %s", errUsage, what)
}

// parse parses flags, which may come before, between or after positional
// arguments. A single-dash long flag (-config, as Go's flag package took
// it) is read as --config; other arguments keep their dash (a negative
// value: --start-timeout -1s). -h, --help and -help print the usage to
// stdout and return pflag.ErrHelp; a bad flag returns a usage error,
// printed once by run.
func parse(fs *flagSet, args []string) ([]string, error) {
	norm := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			norm = append(norm, args[i:]...)
			break
		}
		switch {
		case a == "-h" || a == "-help" || a == "--help":
			fs.printUsage(fs.stdout)
			return nil, pflag.ErrHelp
		case len(a) > 2 && a[0] == '-' && a[1] != '-' && fs.Lookup(strings.SplitN(a[1:], "=", 2)[0]) != nil:
			a = "-" + a
		}
		norm = append(norm, a)
	}
	if err := fs.Parse(norm); err != nil {
		return nil, fmt.Errorf("%w: %v (see stacfs %s --help)", errUsage, err, fs.Name())
	}
	return fs.Args(), nil
}
