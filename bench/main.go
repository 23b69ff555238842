// Command bench measures stacfs against GDAL's /vsicurl/, curl and rclone mount on a large
// Sentinel-2-like COG served through a shaped link (Toxiproxy: 20 ms each way, 50 MB/s per
// connection), and writes the table to docs/performance.md. Run it with `make bench`
// (root, FUSE, GDAL, curl; rclone optional). See docs/performance.md.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type bench struct {
	root      string // repository root
	stacfsBin string
	srv       *servers
	outDir    string // where clients write their output
	logDir    string // request logs of the last run
	size      int    // COG width and height, px
	run       int    // current run, 1-based
	rclone    string // "" when rclone is not used, else its mount subcommand
	cogPath   string // the COG on local disk (the floor rows)
	notes     []string
	res       results
	rows      map[string]bool // groups of rows measured (-rows)
	scenes    *scenes         // the many-scene rows' files, when measured
	bigDay    *bigDay         // the listing rows' STAC API, when measured
	fleet     *fleet          // the fleet rows' shared tier, when measured
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == floorFSCommand {
		os.Exit(runFloorFS(os.Args[2], os.Args[3]))
	}
	os.Exit(mainErr())
}

func mainErr() int {
	runs := flag.Int("runs", 5, "runs per row; each row is the median")
	quick := flag.Bool("quick", false, "smoke test: 1 run and a 4096x4096 COG")
	stacfsBin := flag.String("stacfs", "bin/stacfs", "the stacfs binary (build it with make build)")
	doc := flag.String("doc", "auto", `write the table to this file; "auto": docs/performance.md for full runs, nothing with -quick; "" for none`)
	dataDir := flag.String("data", "bench/.data", "where the generated COG is cached")
	noRclone := flag.Bool("no-rclone", false, "skip the rclone mount rows")
	rowsFlag := flag.String("rows", "all", `which rows: "all", or a comma list of "cog" (the single-COG rows), "loopback", "scenes" (time series, mosaic), "ls" (50 000-item day), "zip", "fleet" (shared tier on redis-server)`)
	only := flag.String("only", "", `run only these rows (as -rows): "zip"`)
	serve := flag.Bool("serve", false, "start the servers, print their addresses and a stacfs config, and wait (for profiling and manual runs)")
	flag.Parse()

	if *only != "" && *only != "zip" {
		fmt.Fprintf(os.Stderr, "bench: -only %q: the rows that can run alone are: zip\n", *only)
		return 2
	}
	if *quick && !isFlagSet("runs") {
		*runs = 1
	}
	size := 10980
	if *quick {
		size = 4096
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: must run as root (FUSE mounts, rclone mount)")
		return 1
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	b := &bench{root: root, size: size, res: results{}}
	b.rows = map[string]bool{}
	if *only != "" {
		*rowsFlag = *only
	}
	for _, r := range strings.Split(*rowsFlag, ",") {
		if r == "all" {
			r = "cog,zip,loopback,scenes,ls,fleet"
		}
		for _, x := range strings.Split(r, ",") {
			b.rows[strings.TrimSpace(x)] = true
		}
	}
	b.stacfsBin = abs(root, *stacfsBin)
	if _, err := os.Stat(b.stacfsBin); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v (run make build)\n", err)
		return 1
	}
	for _, tool := range []string{"gdalinfo", "gdal_translate", "curl", "cp"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s is required (make bench installs it): %v\n", tool, err)
			return 1
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer stopAll()

	data := abs(root, *dataDir)
	cogPath, err := ensureCOG(ctx, root, data, size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	b.cogPath = cogPath
	cog, err := os.ReadFile(cogPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	b.srv, err = startServers(cog)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer b.srv.close()

	out := "/dev/shm"
	if st, err := os.Stat(out); err != nil || !st.IsDir() {
		out = ""
	}
	if b.outDir, err = os.MkdirTemp(out, "stacfs-bench-out-"); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer os.RemoveAll(b.outDir)
	b.logDir = filepath.Join(data, "last-run")
	_ = os.RemoveAll(b.logDir)
	_ = os.MkdirAll(b.logDir, 0o755)

	if !*noRclone {
		b.rclone = b.probeRclone(ctx)
	} else {
		b.notes = append(b.notes, "rclone rows skipped (-no-rclone).")
	}

	if b.rows["scenes"] {
		if b.scenes, err = b.addScenes(ctx, data); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}
	if *serve {
		return b.serveOnly(ctx)
	}
	fmt.Printf("bench: %dx%d COG, %s (%.1f MiB); %d run(s); stacfs cache.memory = %s\n",
		size, size, cogPath, float64(len(cog))/(1<<20), *runs, cacheMemory)
	fmt.Printf("bench: asset server %s, shaped proxy %s, STAC API %s\n",
		b.srv.assets.URL, "http://"+b.srv.proxy.Listen, b.srv.stac.STACURL)
	if err := b.srv.warmUp(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if b.rows["fleet"] {
		b.startFleet(data)
		defer b.fleet.close()
	}
	if b.rows["ls"] {
		fmt.Printf("bench: serving a day of %d items of ~%d KB behind the shaped link\n", bigDayItems, bigDayItemBytes/1000)
		if b.bigDay, err = b.startBigDay(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		defer b.bigDay.close()
	}
	start := time.Now()
	for b.run = 1; b.run <= *runs; b.run++ {
		fmt.Printf("--- run %d/%d\n", b.run, *runs)
		if err := b.oneRun(ctx); err != nil {
			if ctx.Err() != nil {
				fmt.Fprintln(os.Stderr, "bench: interrupted, cleaning up")
				return 130
			}
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}
	fmt.Printf("bench: measured in %s; request logs of every measurement in %s\n\n",
		time.Since(start).Round(time.Second), b.logDir)

	meta := b.metadata(cogPath, len(cog), *runs, *quick)
	table := b.table()
	fmt.Println(meta.summary())
	fmt.Println(table)
	for _, n := range b.notes {
		fmt.Println("Note:", n)
	}
	docPath := *doc
	if docPath == "auto" {
		docPath = ""
		if !*quick && *only == "" {
			docPath = "docs/performance.md"
		}
	}
	if docPath != "" {
		p := abs(root, docPath)
		if err := os.WriteFile(p, []byte(b.document(meta, table)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		fmt.Println("bench: wrote", p)
	}
	return 0
}

// oneRun measures every row once, interleaving clients so drift hits them alike.
func (b *bench) oneRun(ctx context.Context) error {
	if b.rows["cog"] {
		if err := b.cogRows(ctx); err != nil {
			return err
		}
	}
	if b.rows["zip"] {
		if err := b.zipRows(ctx); err != nil {
			return err
		}
	}
	if b.rows["loopback"] {
		if err := b.loopbackRows(ctx); err != nil {
			return err
		}
	}
	if b.scenes != nil {
		if err := b.sceneRows(ctx, b.scenes); err != nil {
			return err
		}
	}
	if err := b.fleetRows(ctx); err != nil {
		return err
	}
	if b.bigDay != nil {
		return b.lsRows(ctx, b.bigDay)
	}
	return nil
}

// cogRows measures the single-COG rows on the shaped link.
func (b *bench) cogRows(ctx context.Context) error {
	shaped := func(ctx context.Context) (*mounted, error) { return b.mountStacfs(ctx, shapedColl) }
	if err := b.mountRows(ctx, "stacfs", shaped); err != nil {
		return err
	}
	if err := b.baselineRows(ctx); err != nil {
		return err
	}
	if b.rclone != "" {
		rc := func(ctx context.Context) (*mounted, error) { return b.mountRclone(ctx, b.rclone, b.srv.shapedDir) }
		if err := b.rcloneFailed(ctx, b.mountRows(ctx, "rclone", rc)); err != nil {
			return err
		}
	}
	return nil
}

// loopbackRows measures the unshaped loopback copy.
func (b *bench) loopbackRows(ctx context.Context) error {
	// Unshaped loopback: cold cp through stacfs, one curl stream, the FUSE
	// floor and rclone.
	loopback := func(ctx context.Context) (*mounted, error) { return b.mountStacfs(ctx, loopbackColl) }
	if err := b.copyThrough(ctx, rowCpLoopback, "stacfs", loopback); err != nil {
		return err
	}
	if _, err := b.measure(ctx, rowCpLoopback, "baseline", nil,
		[]string{"curl", "-sS", "-f", "-o", b.out("curl.tif"), b.srv.loopbackURL}, nil); err != nil {
		return err
	}
	if err := b.copyThrough(ctx, rowCpLoopback, "fuse", b.mountFloor); err != nil || b.rclone == "" {
		return err
	}
	rc := func(ctx context.Context) (*mounted, error) { return b.mountRclone(ctx, b.rclone, b.srv.loopbackDir) }
	return b.rcloneFailed(ctx, b.copyThrough(ctx, rowCpLoopback, "rclone", rc))
}

// copyThrough measures one cold cp of the COG through a fresh mount.
func (b *bench) copyThrough(ctx context.Context, row, client string, mount func(context.Context) (*mounted, error)) error {
	m, err := mount(ctx)
	if err != nil {
		return fmt.Errorf("%s mount: %w", client, err)
	}
	_, err = b.measure(ctx, row, client, m, []string{"cp", m.file, b.out("cp.tif")}, nil)
	if e := m.stop(); err == nil && e != nil {
		err = fmt.Errorf("%s: %v\n%s", client, e, m.stderr)
	}
	return err
}

// rcloneFailed turns an rclone failure into a note and stops rclone's rows
// (rclone is there for comparison); a cancelled bench still fails.
func (b *bench) rcloneFailed(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	b.notes = append(b.notes, fmt.Sprintf("rclone failed in run %d, its rows stop there: %v", b.run, firstLine(err)))
	b.rclone = ""
	return nil
}

// mountRows measures the rows of a FUSE client, each cold row on a fresh mount.
func (b *bench) mountRows(ctx context.Context, client string, mount func(context.Context) (*mounted, error)) error {
	x, y := b.window()
	steps := []struct {
		rows []string
		argv func(file string) [][]string
	}{
		{[]string{rowGdalinfo}, func(f string) [][]string { return [][]string{{"gdalinfo", f}} }},
		{[]string{rowWindow, rowWindowWarm}, func(f string) [][]string {
			a := []string{"gdal_translate", "-q", "-srcwin", x, y, "1024", "1024", f, b.out("window.tif")}
			return [][]string{a, a}
		}},
		{[]string{rowThumb}, func(f string) [][]string {
			return [][]string{{"gdal_translate", "-q", "-outsize", "512", "512", f, b.out("thumb.tif")}}
		}},
		{[]string{rowCp, rowCpWarm}, func(f string) [][]string {
			a := []string{"cp", f, b.out("cp.tif")}
			return [][]string{a, a}
		}},
	}
	for _, st := range steps {
		m, err := mount(ctx)
		if err != nil {
			return fmt.Errorf("%s mount: %w", client, err)
		}
		for i, argv := range st.argv(m.file) {
			if _, err = b.measure(ctx, st.rows[i], client, m, argv, nil); err != nil {
				break
			}
		}
		if e := m.stop(); err == nil && e != nil {
			err = fmt.Errorf("%v\n%s", e, m.stderr)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", client, err)
		}
	}
	return nil
}

// baselineRows measures GDAL /vsicurl/ and curl on the shaped URL, each a fresh process.
func (b *bench) baselineRows(ctx context.Context) error {
	x, y := b.window()
	vsi := "/vsicurl/" + b.srv.shapedURL
	env := []string{"GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR"}
	curl := []string{"curl", "-sS", "-f", "-o", b.out("curl.tif"), b.srv.shapedURL}
	for _, r := range []struct {
		row  string
		argv []string
		env  []string
	}{
		{rowGdalinfo, []string{"gdalinfo", vsi}, env},
		{rowWindow, []string{"gdal_translate", "-q", "-srcwin", x, y, "1024", "1024", vsi, b.out("window.tif")}, env},
		{rowWindowWarm, []string{"gdal_translate", "-q", "-srcwin", x, y, "1024", "1024", vsi, b.out("window.tif")}, env},
		{rowThumb, []string{"gdal_translate", "-q", "-outsize", "512", "512", vsi, b.out("thumb.tif")}, env},
		{rowCp, curl, nil},
		{rowCpWarm, curl, nil},
	} {
		if _, err := b.measure(ctx, r.row, "baseline", nil, r.argv, r.env); err != nil {
			return err
		}
	}
	// The floor of the warm rows: the same clients on the COG on local disk (page cache).
	for _, r := range []struct {
		row  string
		argv []string
	}{
		{rowWindowWarm, []string{"gdal_translate", "-q", "-srcwin", x, y, "1024", "1024", b.cogPath, b.out("window.tif")}},
		{rowCpWarm, []string{"cp", b.cogPath, b.out("cp.tif")}},
	} {
		if _, err := b.measure(ctx, r.row, "local", nil, r.argv, nil); err != nil {
			return err
		}
	}
	return nil
}

// window is the top-left corner of the 1024x1024 window: off the tile grid, so it touches
// 3x3 tiles of 512 px.
func (b *bench) window() (string, string) {
	return strconv.Itoa(b.size/2 - 300), strconv.Itoa(b.size/3 - 200)
}

func (b *bench) out(name string) string { return filepath.Join(b.outDir, name) }

// measure runs one client process with the asset server's counters reset, waits for the
// counters to settle, and records the sample (with the mount's peak RSS for cold cp).
func (b *bench) measure(ctx context.Context, row, client string, m *mounted, argv, env []string) (sample, error) {
	b.srv.settle(b.srv.counters)
	b.srv.assets.Reset()
	return b.measureWith(ctx, row, client, m, argv, env, b.srv.counters)
}

// measureWith is measure counting with count (a server reset by the caller).
func (b *bench) measureWith(ctx context.Context, row, client string, m *mounted, argv, env []string, count func() counters) (sample, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(cleanEnv(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		if ctx.Err() != nil {
			return sample{}, ctx.Err()
		}
		msg := fmt.Sprintf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
		if m != nil {
			msg += "\nmount log:\n" + m.stderr.String()
		}
		return sample{}, errors.New(msg)
	}
	c := b.srv.settle(count)
	s := sample{wall: wall, requests: c.requests, bytes: c.bytes}
	if m != nil && (row == rowCp || row == rowCpLoopback || row == rowLs || row == rowLs2) {
		s.rss, _ = peakRSS(m.pid())
	}
	b.res.add(row, client, s)
	for _, f := range []string{"window.tif", "thumb.tif", "cp.tif", "curl.tif", "mosaic.vrt", "mosaic.tif"} {
		_ = os.Remove(b.out(f))
	}
	b.writeLog(row, client)
	extra := ""
	if s.rss > 0 {
		extra = fmt.Sprintf("  peak RSS %s", fmtBytes(s.rss))
	}
	fmt.Printf("  %-10s %-13s %8.3f s %5d req %11s%s\n", clientLabel(row, client), row, wall.Seconds(), s.requests, fmtBytes(s.bytes), extra)
	return s, nil
}

// writeLog saves the asset server's request log of one measurement (method, Range,
// status, bytes) for reading the request pattern afterwards.
func (b *bench) writeLog(row, client string) {
	var sb strings.Builder
	for _, r := range b.srv.assets.Requests() {
		fmt.Fprintf(&sb, "%s %s range=%q status=%d bytes=%d\n", r.Method, r.Path, r.Range, r.Status, r.Bytes)
	}
	name := fmt.Sprintf("%s-%s-%d.txt", row, clientLabel(row, client), b.run)
	_ = os.WriteFile(filepath.Join(b.logDir, name), []byte(sb.String()), 0o644)
}

// probeRclone returns the rclone subcommand that mounts here ("mount", else "mount2"),
// or "" with a note when rclone is missing or cannot mount.
func (b *bench) probeRclone(ctx context.Context) string {
	if _, err := exec.LookPath("rclone"); err != nil {
		b.notes = append(b.notes, "rclone is not installed: its rows are skipped (apt-get install rclone).")
		return ""
	}
	var errs []string
	for _, sub := range []string{"mount", "mount2"} {
		m, err := b.mountRclone(ctx, sub, b.srv.shapedDir)
		if err == nil {
			_ = m.stop()
			return sub
		}
		errs = append(errs, fmt.Sprintf("rclone %s: %s", sub, firstLine(err)))
	}
	b.notes = append(b.notes, "rclone mount failed, its rows are skipped: "+strings.Join(errs, "; "))
	return ""
}

// ensureCOG returns the cached COG of this size, generating it with GDAL on first use.
func ensureCOG(ctx context.Context, root, data string, size int) (string, error) {
	p := filepath.Join(data, fmt.Sprintf("s2-%d.tif", size))
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", err
	}
	py := ""
	for _, cand := range []string{"python3", "/usr/bin/python3"} {
		if exec.CommandContext(ctx, cand, "-c", "from osgeo import gdal; import numpy").Run() == nil {
			py = cand
			break
		}
	}
	if py == "" {
		return "", errors.New("no python3 with osgeo (python3-gdal) and numpy: run scripts/install-deps.sh")
	}
	fmt.Printf("bench: generating %s (%dx%d UInt16 DEFLATE COG, once)...\n", p, size, size)
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, py, filepath.Join(root, "bench", "gencog.py"), strconv.Itoa(size), p)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("generate COG: %w", err)
	}
	fmt.Printf("bench: generated in %s\n", time.Since(t0).Round(time.Second))
	return p, nil
}

// repoRoot is the nearest folder up from the working directory with stacfs' go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(data), "module github.com/stacfs/stacfs") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from the stacfs repository (no go.mod of github.com/stacfs/stacfs above the working directory)")
		}
		dir = parent
	}
}

func abs(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// serveOnly prints the servers' addresses and a stacfs config of the bench
// catalog, and waits for Ctrl-C: the bench's world for manual runs and
// profiling (stacfs mount --metrics ADDR serves /debug/pprof).
func (b *bench) serveOnly(ctx context.Context) int {
	cfg := filepath.Join(b.outDir, "config.toml")
	config := fmt.Sprintf("[cache]\nmemory = %q\n\n[catalogs.%s]\nurl = %q\n", cacheMemory, catalogName, b.srv.stac.STACURL)
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	fmt.Printf("asset server %s\nshaped URL   %s\nloopback URL %s\nconfig       %s\n", b.srv.assets.URL, b.srv.shapedURL, b.srv.loopbackURL, cfg)
	fmt.Printf("mount:       stacfs mount --config %s DIR   (collections %s, %s)\n", cfg, shapedColl, loopbackColl)
	fmt.Println("Ctrl-C to stop.")
	<-ctx.Done()
	return 0
}
