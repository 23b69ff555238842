package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stacfs/stacfs/internal/redistest"
)

// The fleet rows: several stacfs mounts (nodes) with their own memory
// caches and one shared tier on a real redis-server (issue 20).
const (
	rowFleetCp     = "fleet-cp"
	rowFleetWindow = "fleet-window"
	// fleetMounts is how many mounts copy the COG at once.
	fleetMounts = 8
)

// fleet is the shared tier of the fleet rows: a redis-server started by
// the bench, emptied before every measurement.
type fleet struct {
	srv *redistest.Server
	rdb *redis.Client
}

// startFleet starts redis-server in a folder under data, or returns nil
// and a note when it is missing (the fleet rows are then skipped).
func (b *bench) startFleet(data string) {
	dir := filepath.Join(data, "redis")
	_ = os.MkdirAll(dir, 0o755)
	srv, err := redistest.Start(dir)
	if err != nil {
		b.notes = append(b.notes, "fleet rows skipped: "+firstLine(err))
		return
	}
	b.fleet = &fleet{srv: srv, rdb: redis.NewClient(&redis.Options{Addr: srv.Addr})}
}

func (f *fleet) close() {
	if f != nil {
		f.rdb.Close()
		f.srv.Stop()
	}
}

// flush empties the shared tier.
func (f *fleet) flush(ctx context.Context) error {
	return f.rdb.FlushAll(ctx).Err()
}

// mountNode mounts the shaped COG with the shared tier.
func (b *bench) mountNode(ctx context.Context) (*mounted, error) {
	rel := filepath.Join(shapedColl, itemTime.Format("2006/01/02"), itemID, assetName)
	return b.mountStacfsWith(ctx, b.srv.stac.STACURL, rel, fmt.Sprintf("\n[cache.shared]\nurl = %q\n", b.fleet.srv.URL()))
}

// fleetRows measures the two fleet rows, each from an empty tier.
func (b *bench) fleetRows(ctx context.Context) error {
	if b.fleet == nil {
		return nil
	}
	// One mount alone copies the COG, then fleetMounts mounts at once.
	if err := b.fleet.flush(ctx); err != nil {
		return err
	}
	m, err := b.mountNode(ctx)
	if err != nil {
		return err
	}
	_, err = b.measure(ctx, rowFleetCp, "baseline", m, []string{"cp", m.file, "/dev/null"}, nil)
	if e := m.stop(); err == nil {
		err = e
	}
	if err != nil {
		return err
	}
	if err := b.fleet.flush(ctx); err != nil {
		return err
	}
	var ms []*mounted
	defer func() {
		for _, m := range ms {
			m.stop()
		}
	}()
	for range fleetMounts {
		m, err := b.mountNode(ctx)
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}
	if err := b.measureFleet(ctx, ms); err != nil {
		return err
	}
	for _, m := range ms {
		if err := m.stop(); err != nil {
			return err
		}
	}
	ms = nil

	// Node A reads a window cold (not measured) and again warm; node B,
	// a fresh mount, then reads the same window cold.
	if err := b.fleet.flush(ctx); err != nil {
		return err
	}
	x, y := b.window()
	window := func(f string) []string {
		return []string{"gdal_translate", "-q", "-srcwin", x, y, "1024", "1024", f, b.out("window.tif")}
	}
	a, err := b.mountNode(ctx)
	if err != nil {
		return err
	}
	ms = append(ms, a)
	if out, err := exec.CommandContext(ctx, window(a.file)[0], window(a.file)[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("node A's cold window: %v\n%s", err, out)
	}
	b.srv.settle(b.srv.counters)
	if _, err := b.measure(ctx, rowFleetWindow, "baseline", a, window(a.file), nil); err != nil {
		return err
	}
	node, err := b.mountNode(ctx)
	if err != nil {
		return err
	}
	ms = append(ms, node)
	_, err = b.measure(ctx, rowFleetWindow, "stacfs", node, window(node.file), nil)
	return err
}

// measureFleet copies the COG through every mount at once, and records
// the wall time until the last copy ends and the asset server's counts.
func (b *bench) measureFleet(ctx context.Context, ms []*mounted) error {
	b.srv.settle(b.srv.counters)
	b.srv.assets.Reset()
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	t0 := time.Now()
	for i, m := range ms {
		wg.Go(func() {
			if out, err := exec.CommandContext(ctx, "cp", m.file, "/dev/null").CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("cp through mount %d: %v\n%s\nmount log:\n%s", i+1, err, out, m.stderr)
			}
		})
	}
	wg.Wait()
	wall := time.Since(t0)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	c := b.srv.settle(b.srv.counters)
	s := sample{wall: wall, requests: c.requests, bytes: c.bytes}
	b.res.add(rowFleetCp, "stacfs", s)
	b.writeLog(rowFleetCp, "stacfs")
	fmt.Printf("  %-10s %-13s %8.3f s %5d req %11s\n", clientLabel(rowFleetCp, "stacfs"), rowFleetCp, wall.Seconds(), s.requests, fmtBytes(s.bytes))
	return nil
}

// fleetLabel names the clients of the fleet rows.
func fleetLabel(row, client string) (string, bool) {
	switch {
	case row == rowFleetCp && client == "stacfs":
		return fmt.Sprintf("%d mounts", fleetMounts), true
	case row == rowFleetCp:
		return "1 mount", true
	case row == rowFleetWindow && client == "stacfs":
		return "node B cold", true
	case row == rowFleetWindow:
		return "node A warm", true
	}
	return "", false
}

// fleetTarget is the target of a fleet row and whether it is met (nil:
// not measured); misses names the criteria missed.
func (b *bench) fleetTarget(row string) (t string, met *bool, misses []string) {
	s, ok := b.res.median(row, "stacfs")
	base, bok := b.res.median(row, "baseline")
	switch row {
	case rowFleetCp:
		t = "origin bytes ÷ file size ≤ 1.2, wall ≤ 1.5× one mount"
		st, err := os.Stat(b.cogPath)
		if !ok || !bok || err != nil {
			return t, nil, nil
		}
		if s.bytes/float64(st.Size()) > 1.2 {
			misses = append(misses, fmt.Sprintf("bytes %.2f×", s.bytes/float64(st.Size())))
		}
		if s.wall > 1.5*base.wall {
			misses = append(misses, "wall")
		}
	case rowFleetWindow:
		t = "0 origin requests, wall ≤ 1.2× node A's warm window"
		if !ok || !bok {
			return t, nil, nil
		}
		if s.requests != 0 {
			misses = append(misses, "requests")
		}
		if s.wall > 1.2*base.wall {
			misses = append(misses, "wall")
		}
	default:
		return "", nil, nil
	}
	v := len(misses) == 0
	return t, &v, misses
}
