package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name  string
		walls []time.Duration
		want  float64
	}{
		{"one", []time.Duration{300 * time.Millisecond}, 0.3},
		{"odd, unsorted", []time.Duration{5 * time.Second, 1 * time.Second, 3 * time.Second}, 3},
		{"even: mean of the middle two", []time.Duration{4 * time.Second, 1 * time.Second, 2 * time.Second, 10 * time.Second}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := results{}
			for i, w := range tc.walls {
				r.add(rowWindow, "stacfs", sample{wall: w, requests: i})
			}
			m, ok := r.median(rowWindow, "stacfs")
			if !ok || m.n != len(tc.walls) || m.wall != tc.want {
				t.Errorf("median = %+v %v, want wall %v of %d", m, ok, tc.want, len(tc.walls))
			}
		})
	}
	if _, ok := (results{}).median(rowWindow, "stacfs"); ok {
		t.Error("median of no samples is ok")
	}
}

// TestTargets: each row's target is judged from the medians, naming what
// is missed.
func TestTargets(t *testing.T) {
	s := func(wall float64, req int, bytes int64) sample {
		return sample{wall: time.Duration(wall * float64(time.Second)), requests: req, bytes: bytes}
	}
	for _, tc := range []struct {
		name       string
		row        string
		stacfs     sample
		baseline   *sample
		wantMet    bool
		wantMisses []string
	}{
		{"window met", rowWindow, s(0.36, 6, 3900), &sample{wall: 370 * time.Millisecond, requests: 5, bytes: 2700}, true, nil},
		{"window: all three missed", rowWindow, s(0.5, 10, 6500), &sample{wall: 400 * time.Millisecond, requests: 5, bytes: 2700}, false, []string{"wall", "bytes", "requests"}},
		{"gdalinfo: bytes at exactly 1.5x is met", rowGdalinfo, s(0.2, 4, 24), &sample{wall: 250 * time.Millisecond, requests: 2, bytes: 16}, true, nil},
		{"warm window: wall", rowWindowWarm, s(0.2, 0, 0), nil, false, []string{"wall"}},
		{"warm window met", rowWindowWarm, s(0.09, 0, 0), nil, true, nil},
		{"cold cp 3.6x", rowCp, s(1.16, 49, 1), &sample{wall: 4240 * time.Millisecond}, true, nil},
		{"cold cp 2.9x", rowCp, s(1.44, 49, 1), &sample{wall: 4200 * time.Millisecond}, false, nil},
		{"time series: bytes", rowSeries, s(1.0, 70, 4000), &sample{wall: 1100 * time.Millisecond, requests: 72, bytes: 2000}, false, []string{"bytes"}},
		{"time series met", rowSeries8, s(1.0, 70, 2900), &sample{wall: 1100 * time.Millisecond, requests: 72, bytes: 2000}, true, nil},
		{"mosaic over", rowMosaic, s(2.1, 70, 1), &sample{wall: 2 * time.Second}, false, nil},
		{"ls 1.1x", rowLs, s(22, 50, 1), &sample{wall: 20 * time.Second}, true, nil},
		{"warm ls slow", rowLsWarm, s(0.3, 0, 0), nil, false, []string{"wall"}},
		{"warm cp: a request", rowCpWarm, s(0.1, 1, 1), nil, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &bench{res: results{}}
			b.res.add(tc.row, "stacfs", tc.stacfs)
			if tc.baseline != nil {
				b.res.add(tc.row, "baseline", *tc.baseline)
			}
			_, met := b.target(tc.row)
			if met == nil || *met != tc.wantMet {
				t.Fatalf("met = %v, want %v", met, tc.wantMet)
			}
			if got := b.misses(tc.row); !slices.Equal(got, tc.wantMisses) {
				t.Errorf("misses = %v, want %v", got, tc.wantMisses)
			}
		})
	}
}

// TestLoopbackTarget: the loopback copy is judged against the FUSE floor
// of the same run, not against curl.
func TestLoopbackTarget(t *testing.T) {
	for _, tc := range []struct {
		stacfs, floor float64
		want          bool
	}{{0.15, 0.10, true}, {0.226, 0.10, false}} {
		b := &bench{res: results{}}
		b.res.add(rowCpLoopback, "stacfs", sample{wall: time.Duration(tc.stacfs * float64(time.Second))})
		b.res.add(rowCpLoopback, "baseline", sample{wall: time.Second}) // curl: not the target
		b.res.add(rowCpLoopback, "fuse", sample{wall: time.Duration(tc.floor * float64(time.Second))})
		if _, met := b.target(rowCpLoopback); met == nil || *met != tc.want {
			t.Errorf("stacfs %.3f s, floor %.3f s: met %v, want %v", tc.stacfs, tc.floor, met, tc.want)
		}
	}
}

// TestTable: the table has a line per client of each measured row, the
// ratios against the baseline and the verdict on stacfs' line.
func TestTable(t *testing.T) {
	b := &bench{res: results{}}
	b.res.add(rowCp, "stacfs", sample{wall: time.Second, requests: 49, bytes: 183 << 20, rss: 200 << 20})
	b.res.add(rowCp, "baseline", sample{wall: 4 * time.Second, requests: 1, bytes: 183 << 20})
	got := b.table()
	for _, want := range []string{
		"| cold `cp` of the whole file | stacfs | 1.000 s | 49 | 183.0 MiB | 0.25× (speed 4.00×) | 1.00× | +48 |",
		"| met |",
		"|  | curl | 4.000 s | 1 | 183.0 MiB | baseline |",
		"| peak RSS of the mount process during the cold `cp` | stacfs | 200.0 MiB |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "gdalinfo") {
		t.Errorf("a row without samples is in the table:\n%s", got)
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{fmtBytes(512), "512 B"},
		{fmtBytes(16 << 10), "16.0 KiB"},
		{fmtBytes(3<<20 + 1<<19), "3.5 MiB"},
		{ratio(1, 2), "0.50×"},
		{ratio(0, 0), "1.00×"},
		{ratio(1, 0), "∞"},
		{fmtNum(5), "5"},
		{fmtNum(5.5), "5.5"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
