package main

import (
	"fmt"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Rows of the table, in order.
const (
	rowGdalinfo   = "gdalinfo"
	rowWindow     = "window"
	rowThumb      = "thumbnail"
	rowWindowWarm = "window-warm"
	rowCp         = "cp"
	rowCpWarm     = "cp-warm"
	rowRSS        = "peak-rss"
	rowCpLoopback = "cp-loopback"

	rowSeries      = "series"
	rowSeriesWarm  = "series-warm"
	rowSeries8     = "series-8"
	rowSeries8Warm = "series-8-warm"
	rowMosaic      = "mosaic"
	rowLs          = "ls"
	rowLsWarm      = "ls-warm"
	rowLsRSS       = "ls-rss"
	rowLs2         = "ls-2"
	rowLs2RSS      = "ls-2-rss"
)

var rowTitles = map[string]string{
	rowGdalinfo:   "cold `gdalinfo`",
	rowWindow:     "cold 1024×1024 window (`gdal_translate -srcwin`)",
	rowThumb:      "cold 512 px thumbnail (`gdal_translate -outsize 512 512`)",
	rowWindowWarm: "warm window, new process (same mount)",
	rowCp:         "cold `cp` of the whole file",
	rowCpWarm:     "warm `cp` (same mount)",
	rowRSS:        "peak RSS of the mount process during the cold `cp`",
	rowCpLoopback: "cold `cp`, unshaped loopback (no Toxiproxy)",

	rowSeries:      "cold time series: 256×256 window from 24 COGs, one process",
	rowSeriesWarm:  "warm time series, new process (same mount)",
	rowSeries8:     "cold time series, 8 processes × 3 COGs",
	rowSeries8Warm: "warm time series, 8 new processes (same mount)",
	rowMosaic:      "cold mosaic: `gdalbuildvrt` of 16 COGs + 2048×2048 window over 4",
	rowLs:          "cold `ls` of a 50 000-item day (STAC API shaped)",
	rowLsWarm:      "warm `ls` of that day (same mount)",
	rowLsRSS:       "peak RSS of the mount process after the cold `ls`",
	rowLs2:         "cold `ls` of a second 50 000-item day (same mount, after the first)",
	rowLs2RSS:      "peak RSS of the mount process after the second day's `ls`",
	rowFleetCp:     "fleet: 8 mounts copy the same COG at once (shared tier)",
	rowFleetWindow: "fleet: second node's cold window (shared tier)",
}

var rowOrder = []string{rowGdalinfo, rowWindow, rowThumb, rowWindowWarm, rowCp, rowCpWarm, rowRSS, rowCpLoopback,
	rowSeries, rowSeriesWarm, rowSeries8, rowSeries8Warm, rowMosaic, rowLs, rowLsWarm, rowLsRSS, rowLs2, rowLs2RSS,
	rowFleetCp, rowFleetWindow}

// isRSS reports whether a row shows the peak RSS of another row's samples.
func isRSS(row string) bool { return row == rowRSS || row == rowLsRSS || row == rowLs2RSS }

// sample is one measurement.
type sample struct {
	wall     time.Duration
	requests int
	bytes    int64
	rss      int64 // VmHWM of the mount process, cold cp only
}

// results: row -> client ("stacfs", "baseline", "rclone") -> samples.
type results map[string]map[string][]sample

func (r results) add(row, client string, s sample) {
	if r[row] == nil {
		r[row] = map[string][]sample{}
	}
	r[row][client] = append(r[row][client], s)
}

// med is the per-metric median of some samples.
type med struct {
	n        int
	wall     float64 // seconds
	requests float64
	bytes    float64
	rss      float64
}

func (r results) median(row, client string) (med, bool) {
	ss := r[row][client]
	if len(ss) == 0 {
		return med{}, false
	}
	pick := func(f func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		n := len(v)
		if n%2 == 1 {
			return v[n/2]
		}
		return (v[n/2-1] + v[n/2]) / 2
	}
	return med{
		n:        len(ss),
		wall:     pick(func(s sample) float64 { return s.wall.Seconds() }),
		requests: pick(func(s sample) float64 { return float64(s.requests) }),
		bytes:    pick(func(s sample) float64 { return float64(s.bytes) }),
		rss:      pick(func(s sample) float64 { return float64(s.rss) }),
	}, true
}

func clientLabel(row, client string) string {
	if l, ok := fleetLabel(row, client); ok {
		return l
	}
	switch client {
	case "baseline":
		switch row {
		case rowZip:
			return "vsizip"
		case rowCp, rowCpWarm, rowCpLoopback, rowLs:
			return "curl"
		}
		return "vsicurl"
	case "rclone":
		return "rclone"
	case "local":
		return "local file"
	case "fuse":
		return "FUSE floor"
	}
	return client
}

func isCopy(row string) bool { return row == rowCp || row == rowCpWarm || row == rowCpLoopback }

// target returns the target of stacfs on a row and whether it is met (nil: not measured).
func (b *bench) target(row string) (string, *bool) {
	s, ok := b.res.median(srcRow(row), "stacfs")
	base, bok := b.res.median(srcRow(row), "baseline")
	yes := func(v bool) *bool { return &v }
	if t, met, _ := b.fleetTarget(row); t != "" {
		return t, met
	}
	switch row {
	case rowZip:
		t := "wall ≤ 1.0×, bytes ≤ 1.5×"
		if !ok || !bok {
			return t, nil
		}
		return t, yes(len(b.misses(row)) == 0)
	case rowGdalinfo, rowWindow, rowThumb:
		t := "wall ≤ 1.0×, bytes ≤ 1.5×, requests ≤ vsicurl + 2"
		if !ok || !bok {
			return t, nil
		}
		return t, yes(len(b.misses(row)) == 0)
	case rowWindowWarm:
		t := "0 requests, wall < 0.1 s"
		if !ok {
			return t, nil
		}
		return t, yes(s.requests == 0 && s.wall < 0.1)
	case rowCp:
		t := "≥ 3× the speed of one curl stream (wall ≤ 0.33×)"
		if !ok || !bok {
			return t, nil
		}
		return t, yes(base.wall/s.wall >= 3)
	case rowCpWarm:
		t := "0 requests"
		if !ok {
			return t, nil
		}
		return t, yes(s.requests == 0)
	case rowRSS:
		t := fmt.Sprintf("≤ cache.memory + 100 MiB = %d MiB", cacheMemoryMiB+100)
		if !ok || s.rss == 0 {
			return t, nil
		}
		return t, yes(s.rss <= float64(cacheMemoryMiB+100)*(1<<20))
	case rowCpLoopback:
		t := "wall ≤ 1.5× the FUSE floor of the same run"
		floor, fok := b.res.median(row, "fuse")
		if !ok || !fok {
			return t, nil
		}
		return t, yes(s.wall <= 1.5*floor.wall)
	case rowSeries, rowSeries8:
		t := "wall ≤ 1.0×, bytes ≤ 1.5×"
		if !ok || !bok {
			return t, nil
		}
		return t, yes(len(b.misses(row)) == 0)
	case rowSeriesWarm, rowSeries8Warm:
		t := "0 requests"
		if !ok {
			return t, nil
		}
		return t, yes(s.requests == 0)
	case rowMosaic:
		t := "wall ≤ 1.0×"
		if !ok || !bok {
			return t, nil
		}
		return t, yes(s.wall <= base.wall)
	case rowLs:
		t := "wall ≤ 1.2× curl of the same pages"
		if !ok || !bok {
			return t, nil
		}
		return t, yes(s.wall <= 1.2*base.wall)
	case rowLsWarm:
		t := "0 requests, wall ≤ 0.2 s"
		if !ok {
			return t, nil
		}
		return t, yes(s.requests == 0 && s.wall <= 0.2)
	case rowLsRSS, rowLs2RSS:
		t := fmt.Sprintf("≤ cache.memory + 300 MiB = %d MiB", cacheMemoryMiB+300)
		if !ok || s.rss == 0 {
			return t, nil
		}
		return t, yes(s.rss <= float64(cacheMemoryMiB+300)*(1<<20))
	}
	return "", nil
}

// misses names the criteria stacfs misses on a row with several (empty: all met).
func (b *bench) misses(row string) []string {
	s, ok := b.res.median(srcRow(row), "stacfs")
	base, bok := b.res.median(srcRow(row), "baseline")
	if !ok {
		return nil
	}
	if _, _, fm := b.fleetTarget(row); len(fm) > 0 {
		return fm
	}
	var m []string
	switch row {
	case rowGdalinfo, rowWindow, rowThumb, rowZip, rowSeries, rowSeries8:
		if !bok {
			return nil
		}
		if s.wall > base.wall {
			m = append(m, "wall")
		}
		if s.bytes > 1.5*base.bytes {
			m = append(m, "bytes")
		}
		if s.requests > base.requests+2 && (row == rowGdalinfo || row == rowWindow || row == rowThumb) {
			m = append(m, "requests")
		}
	case rowWindowWarm:
		if s.requests != 0 {
			m = append(m, "requests")
		}
		if s.wall >= 0.1 {
			m = append(m, "wall")
		}
	case rowLsWarm:
		if s.requests != 0 {
			m = append(m, "requests")
		}
		if s.wall > 0.2 {
			m = append(m, "wall")
		}
	}
	return m
}

// srcRow is the row whose samples a row reads (peak RSS comes from the cold cp).
func srcRow(row string) string {
	switch row {
	case rowRSS:
		return rowCp
	case rowLsRSS:
		return rowLs
	case rowLs2RSS:
		return rowLs2
	}
	return row
}

// table renders the markdown table of medians.
func (b *bench) table() string {
	var sb strings.Builder
	sb.WriteString("| Row | Client | Wall | Requests | Bytes | Wall × | Bytes × | Requests Δ | Target (stacfs) | Met |\n")
	sb.WriteString("|---|---|--:|--:|--:|--:|--:|--:|---|---|\n")
	for _, row := range rowOrder {
		title := rowTitles[row]
		tgt, met := b.target(row)
		metS := "—"
		if met != nil {
			metS = "**missed**"
			if ms := b.misses(row); len(ms) > 0 {
				metS += " (" + strings.Join(ms, ", ") + ")"
			}
			if *met {
				metS = "met"
			}
		}
		first := true
		for _, client := range []string{"stacfs", "baseline", "rclone", "local", "fuse"} {
			if isRSS(row) && client == "baseline" {
				continue
			}
			m, ok := b.res.median(srcRow(row), client)
			if !ok {
				continue
			}
			base, bok := b.res.median(srcRow(row), "baseline")
			cells := make([]string, 10)
			if first {
				cells[0] = title
			}
			cells[1] = clientLabel(row, client)
			if isRSS(row) {
				cells[2] = fmtBytes(int64(m.rss))
				for i := 3; i < 8; i++ {
					cells[i] = ""
				}
			} else {
				cells[2] = fmt.Sprintf("%.3f s", m.wall)
				cells[3] = fmtNum(m.requests)
				cells[4] = fmtBytes(int64(m.bytes))
				if client == "local" || client == "fuse" {
					cells[5], cells[6], cells[7] = "floor", "", ""
				} else if client == "baseline" || !bok {
					cells[5], cells[6], cells[7] = "baseline", "", ""
					if !bok {
						cells[5] = ""
					}
				} else {
					cells[5] = ratio(m.wall, base.wall)
					if isCopy(row) && m.wall > 0 {
						cells[5] += fmt.Sprintf(" (speed %.2f×)", base.wall/m.wall)
					}
					cells[6] = ratio(m.bytes, base.bytes)
					cells[7] = fmt.Sprintf("%+g", m.requests-base.requests)
				}
			}
			if client == "stacfs" {
				cells[8], cells[9] = tgt, metS
			}
			sb.WriteString("| " + strings.Join(cells, " | ") + " |\n")
			first = false
		}
	}
	return sb.String()
}

func ratio(a, b float64) string {
	if b == 0 {
		if a == 0 {
			return "1.00×"
		}
		return "∞"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func fmtNum(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// meta is what the table was measured with.
type meta struct {
	commit, date, machine, tools string
	cog                          string
	runs                         int
	quick                        bool
}

func (m meta) summary() string {
	mode := fmt.Sprintf("median of %d run(s)", m.runs)
	if m.quick {
		mode = "QUICK smoke test (small COG, " + mode + "): not comparable to a full run"
	}
	return fmt.Sprintf("Measured at commit `%s` on %s; %s.\n\nCOG: %s. Machine: %s. Tools: %s.",
		m.commit, m.date, mode, m.cog, m.machine, m.tools)
}

func (b *bench) metadata(cogPath string, cogLen, runs int, quick bool) meta {
	m := meta{runs: runs, quick: quick, date: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	m.commit = strings.TrimSpace(cmdOut(b.root, "git", "rev-parse", "--short", "HEAD"))
	if m.commit == "" {
		m.commit = "unknown"
	} else if strings.TrimSpace(cmdOut(b.root, "git", "status", "--porcelain", "--untracked-files=no")) != "" {
		m.commit += " + uncommitted changes"
	}
	m.cog = fmt.Sprintf("%d×%d UInt16, DEFLATE, 512 px tiles, overviews, %s", b.size, b.size, fmtBytes(int64(cogLen)))
	m.machine = fmt.Sprintf("%d CPUs, Linux %s", runtime.NumCPU(), strings.TrimSpace(cmdOut("", "uname", "-r")))
	tools := []string{
		"stacfs " + firstField(cmdOut("", b.stacfsBin, "version"), 1),
		"GDAL " + strings.TrimSuffix(firstField(cmdOut("", "gdalinfo", "--version"), 1), ","),
		"curl " + firstField(cmdOut("", "curl", "--version"), 1),
	}
	if b.rclone != "" {
		tools = append(tools, "rclone "+firstField(cmdOut("", "rclone", "version"), 1)+" ("+b.rclone+")")
	}
	m.tools = strings.Join(tools, ", ")
	return m
}

func cmdOut(dir, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, _ := cmd.Output()
	return string(out)
}

// firstField returns the i-th whitespace field (0-based) of the first line of s.
func firstField(s string, i int) string {
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if i < len(f) {
		return f[i]
	}
	return "?"
}

// document renders docs/performance.md.
func (b *bench) document(m meta, table string) string {
	var notes strings.Builder
	for _, n := range b.notes {
		notes.WriteString("- " + n + "\n")
	}
	if notes.Len() > 0 {
		notes.WriteString("\n")
	}
	var met, missed []string
	for _, row := range rowOrder {
		if _, ok := b.target(row); ok == nil {
			continue
		}
		if _, ok := b.target(row); *ok {
			met = append(met, rowTitles[row])
		} else {
			missed = append(missed, rowTitles[row])
		}
	}
	summary := fmt.Sprintf("Targets met: %d of %d.", len(met), len(met)+len(missed))
	if len(missed) > 0 {
		summary += " Missed: " + strings.Join(missed, "; ") + "."
	}
	return fmt.Sprintf(docTemplate, cacheMemory, latencyMS, bandwidthKBps/1000,
		m.summary(), table, notes.String(), summary, cacheMemoryMiB+100)
}

const docTemplate = "# Performance\n\n" +
	"This file is written by `make bench` (the program in [`bench/`](../bench)); the table\n" +
	"below is the last full run. Do not edit the table by hand: run the benchmark again.\n\n" +
	"## Setup\n\n" +
	"- **Data**: one Sentinel-2-like band, a 10980×10980 UInt16 COG (DEFLATE, 512 px tiles,\n" +
	"  overviews down to 343 px), generated once with GDAL by `bench/gencog.py` (field\n" +
	"  parcels, smooth relief, rivers and sensor noise, so it compresses like real data) and\n" +
	"  cached in `bench/.data/`.\n" +
	"- **Servers**, all in the bench process on loopback: an asset server (`fakestac`, Go's\n" +
	"  `http.ServeContent`: Range, ETag) that counts every request and every body byte it\n" +
	"  writes; [Toxiproxy](https://github.com/Shopify/toxiproxy) v2.12.0 in front of it, as a\n" +
	"  library, adding **%[2]d ms latency each way** and a **%[3]d MB/s bandwidth limit per\n" +
	"  connection** (downstream); a fake STAC API (`fakestac`) with one collection and one\n" +
	"  item whose asset href points at the proxy (with `file:size`). The STAC API itself is\n" +
	"  not shaped, and the metadata walk to the file (`stat`) is done before timing. Before\n" +
	"  the first run the bench reads the COG once through the proxy (16 parallel ranges) and\n" +
	"  once straight, unmeasured, so that its own servers are warm; every client still\n" +
	"  starts cold.\n" +
	"- **stacfs**: the built `bin/stacfs`, `stacfs mount --config FILE --catalog bench DIR`\n" +
	"  with `[cache] memory = \"%[1]s\"` and every other setting at its default.\n" +
	"- **Baselines**: GDAL's `/vsicurl/` on the same proxied URL (env\n" +
	"  `GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR`, a new process each time, so always cold) for\n" +
	"  the GDAL rows; `curl -o FILE URL` (one stream) for the copy rows. For comparison,\n" +
	"  `rclone mount --read-only :http: --http-url <folder URL>` (default VFS settings, no\n" +
	"  cache) on the same folder (proxied, or straight for the loopback row), when rclone\n" +
	"  is installed and can mount.\n" +
	"- **Cold** means a fresh mount (a new stacfs or rclone process; unmounting also drops\n" +
	"  the kernel's page cache of the file) and a new client process. **Warm** rows run the\n" +
	"  same client again, as a new process, on the same mount.\n" +
	"- The 1024×1024 window starts off the tile grid (x = W/2 − 300, y = H/3 − 200), so it\n" +
	"  touches 3×3 full-resolution tiles; the thumbnail reads the 686 px overview. Outputs\n" +
	"  go to `/dev/shm`.\n" +
	"- **Many scenes**: 2048×2048 COGs of the same kind (512 px tiles, overviews), behind\n" +
	"  the same proxy. The time series reads a 256×256 window at the same place from 24\n" +
	"  scenes (24 URLs, one item a day) with one Python GDAL process, one file after the\n" +
	"  other, then as 8 processes of 3 scenes at once; warm rows run the processes again on\n" +
	"  the same mount. The mosaic is `gdalbuildvrt` over 16 adjacent COGs (a 4×4 grid) and\n" +
	"  `gdal_translate` of the 2048×2048 window centred on the grid's middle (4 COGs).\n" +
	"  `/vsicurl/` reads the same URLs. The metadata walk to the files is done before timing.\n" +
	"- **Listing**: a day of 50 000 items of ~20 KB of JSON each (5 assets) from a second\n" +
	"  `fakestac` STAC API (pages of up to 1 000) behind its own proxy with the same\n" +
	"  shaping; its links name the proxy. The cold row is `ls` of the day on a fresh mount\n" +
	"  (the walk to the day's folder done before timing); the baseline is one curl process\n" +
	"  fetching the same pages one after the other (`-o /dev/null URL` for each); requests\n" +
	"  and bytes of these rows are counted at that STAC API.\n\n" +
	"## How to read the table\n\n" +
	"Each value is the median of the runs. **Wall** is the client process's wall time.\n" +
	"**Requests** and **Bytes** are counted at the asset server (behind the proxy), after the\n" +
	"client has exited and the counters have stopped moving, so read-ahead that outlives the\n" +
	"client counts too; bytes are body bytes handed to the connection (the proxy buffers,\n" +
	"so a client that abandons a long response is charged for what the proxy took).\n" +
	"**Wall ×** and **Bytes ×** are the client's value over the baseline's (vsicurl for the\n" +
	"GDAL rows, curl for the copy rows): below 1 is better; for copies, **speed** is the\n" +
	"baseline's wall time over the client's. **Requests Δ** is the client's requests minus\n" +
	"the baseline's. **Target** and **Met** apply to stacfs only; rclone is there for\n" +
	"comparison. Peak RSS is `VmHWM` of the mount process after the cold copy.\n" +
	"**local file** rows run the same client on the COG on local disk (in the page cache):\n" +
	"the floor of the warm rows, mostly process start-up (Debian's GDAL loads over a hundred\n" +
	"shared libraries), which no file system can go below. The **FUSE floor** row of the\n" +
	"loopback copy is `cp` from go-fuse's own loopback file system (`fs.NewLoopbackRoot`,\n" +
	"stacfs' kernel settings, a new process and mount each run) over the folder of the local\n" +
	"COG: a FUSE file system that already has the data and only passes it on, which is\n" +
	"what any FUSE file system costs here before it fetches a byte. The unshaped loopback copy is\n" +
	"CPU-bound on the 2 cores it shares with the server and `cp`: stacfs receives every\n" +
	"byte, stores it (the warm copy makes no request, so the cache keeps the file) and hands\n" +
	"it to the kernel, where curl receives and writes. The `cp` rows also pay for their\n" +
	"output's new memory in `/dev/shm`, whose price swings from run to run on a VM.\n" +
	"How the read path got to these figures, the variants measured on\n" +
	"the way, and this machine's costs of process start-up and fresh memory:\n" +
	"[dev/performance-tuning.md](dev/performance-tuning.md).\n\n" +
	"## Results\n\n" +
	"%[4]s\n\n" +
	"%[5]s\n" +
	"%[6]s" +
	"%[7]s\n\n" +
	"## Targets\n\n" +
	"- Cold `gdalinfo`, window and thumbnail: wall time ≤ 1.0× GDAL `/vsicurl/`, bytes ≤\n" +
	"  1.5× its bytes, requests ≤ its requests + 2.\n" +
	"- Warm window (new process, same mount): 0 requests, under 0.1 s.\n" +
	"- Cold `cp`: at least 3× the speed of one curl stream on the shaped link (parallel\n" +
	"  ranged reads beat a per-connection limit).\n" +
	"- Warm `cp`: 0 requests.\n" +
	"- Peak RSS of stacfs during the cold `cp`: ≤ `cache.memory` + 100 MiB (%[8]d MiB).\n" +
	"- Unshaped loopback `cp`: ≤ 1.5× the FUSE floor of the same run (what any FUSE file\n" +
	"  system costs here), the warm copy at 0 requests.\n" +
	"- Time series (one process, and 8 processes): wall ≤ 1.0× `/vsicurl/`, bytes ≤ 1.5×;\n" +
	"  again from new processes: 0 requests. Mosaic: wall ≤ 1.0× `/vsicurl/`.\n" +
	"- `ls` of a 50 000-item day: cold ≤ 1.2× curl of the same pages; warm ≤ 0.2 s with 0\n" +
	"  requests; peak RSS ≤ `cache.memory` + 300 MiB.\n" +
	"- Fleet (`[cache.shared]` on a redis-server started by the bench, emptied before each\n" +
	"  measurement, every setting at its default): 8 mounts copying the COG at once (`cp` to\n" +
	"  `/dev/null`) cost ≤ 1.2× the file at the asset server and ≤ 1.5× the wall time of one\n" +
	"  mount copying it alone; a second node's cold window makes 0 requests and takes ≤ 1.2×\n" +
	"  the first node's warm window. The 8 mounts, their `cp`s and Redis share this\n" +
	"  machine's 2 cores, which a fleet of machines does not.\n\n" +
	"## Running it\n\n" +
	"```sh\n" +
	"make bench                          # as root: installs deps, builds bin/stacfs, runs go run ./bench\n" +
	"make bench BENCH_ARGS=-quick        # smoke test: 1 run, 4096×4096 COG, table printed only\n" +
	"go run ./bench -runs 5 -no-rclone   # flags: -runs, -quick, -doc FILE, -stacfs BIN, -data DIR\n" +
	"go run ./bench -rows scenes,ls      # only some rows: cog, loopback, scenes, ls, zip, fleet (default all)\n" +
	"go run ./bench -serve               # the servers only, and a config to mount by hand\n" +
	"```\n\n" +
	"It needs root (FUSE mounts), `/dev/fuse`, GDAL with python3-gdal and numpy (to generate\n" +
	"the COG), curl, and optionally rclone. A full run takes a few minutes on 2 cores. The\n" +
	"asset server's request log of every measurement of the last run is in\n" +
	"`bench/.data/last-run/` (method, Range, status, bytes), for reading request patterns.\n" +
	"Mounts and processes are cleaned up on exit and on Ctrl-C. For profiling, mount with\n" +
	"`--metrics 127.0.0.1:PORT` and take `go tool pprof http://127.0.0.1:PORT/debug/pprof/profile`.\n"
