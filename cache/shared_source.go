package cache

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// sharedSource reads an object through the shared tier (a CopySource for
// fetchRun): the units found in Redis, the others from the object's own
// Src, one request per run of adjacent units this node leased, and stores
// what it fetched for the fleet.
type sharedSource struct {
	s    *Shared
	obj  Object
	base string // the key of unit i is base + i
	etag string
}

// source returns obj read through the tier. The units of one object share
// a Cluster hash slot ({...}), so one MGET reads several.
func (s *Shared) source(obj Object) *sharedSource {
	sum := sha256.Sum256([]byte(obj.Key))
	return &sharedSource{s: s, obj: obj, etag: objectETag(obj.Key),
		base: fmt.Sprintf("%su:{%x}:%d:", s.prefix, sum[:16], s.unit)}
}

func (ss *sharedSource) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return ss.read(ctx, p, off, nil, nil)
}

func (ss *sharedSource) ReadAtProgress(ctx context.Context, p []byte, off int64, progress func(int)) (int, error) {
	return ss.read(ctx, p, off, progress, nil)
}

func (ss *sharedSource) ReadAtCopy(ctx context.Context, p []byte, off int64, progress func(int), put func(dst, src []byte) error) (int, error) {
	return ss.read(ctx, p, off, progress, put)
}

// origin reads p from the object's Src as if there were no tier.
func (ss *sharedSource) origin(ctx context.Context, p []byte, off int64, progress func(int), put func(dst, src []byte) error) (int, error) {
	if progress == nil {
		progress = func(int) {}
	}
	if cs, ok := ss.obj.Src.(CopySource); ok && put != nil {
		return cs.ReadAtCopy(ctx, p, off, progress, put)
	}
	if ps, ok := ss.obj.Src.(ProgressSource); ok {
		return ps.ReadAtProgress(ctx, p, off, progress)
	}
	return ss.obj.Src.ReadAt(ctx, p, off) // p may be arena memory: it is writable
}

// unitLen is the length of unit u (the last one may be short).
func (ss *sharedSource) unitLen(u int64) int64 {
	return min(ss.s.unit, ss.obj.Size-u*ss.s.unit)
}

// read fills p from off: see sharedSource. Any trouble with Redis sends
// the read (or the units concerned) to Src; only Src's errors are returned.
func (ss *sharedSource) read(ctx context.Context, p []byte, off int64, progress func(int), put func(dst, src []byte) error) (int, error) {
	s := ss.s
	end := off + int64(len(p))
	if len(p) == 0 || end > ss.obj.Size || !s.br.allow() {
		return ss.origin(ctx, p, off, progress, put)
	}
	u0, u1 := off/s.unit, (end-1)/s.unit
	data := make([][]byte, u1-u0+1) // payload of each unit, once known
	idx := make([]int, len(data))
	for i := range idx {
		idx[i] = i
	}
	mine, theirs, err := ss.lookup(ctx, u0, idx, data, true)
	if err != nil {
		s.log.Debug("shared cache: lookup failed, reading from the provider", "off", off, "len", len(p), "err", err)
		// The server may have run the lookup and given its leases to
		// this node after its deadline: released, so that other nodes
		// do not wait lease_wait for a fetch that is not stored.
		s.unlease(ss.keys(u0, idx))
		return ss.origin(ctx, p, off, progress, put)
	}
	if len(mine) == len(data) {
		// Nobody has any of it: one request, streamed to the reader.
		return ss.fetchAll(ctx, p, off, u0, progress, put)
	}

	// Fetch the units leased here while waiting for the others.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ferr error
	fetch := func(units []int) {
		for _, r := range adjacent(units) {
			wg.Go(func() {
				if err := ss.fetchUnits(ctx, u0, r, data, nil); err != nil {
					mu.Lock()
					ferr = errors.Join(ferr, err)
					mu.Unlock()
				}
			})
		}
	}
	fetch(mine)
	left := ss.await(ctx, u0, theirs, data)
	slices.Sort(left)
	fetch(left)
	wg.Wait()
	if ferr != nil {
		s.unlease(ss.keys(u0, append(mine, left...)))
		return 0, ferr
	}
	ss.storeUnits(u0, append(mine, left...), data)

	n := 0
	for i, d := range data {
		uOff := (u0 + int64(i)) * s.unit
		lo, hi := max(off, uOff)-uOff, min(end, uOff+int64(len(d)))-uOff
		if err := putInto(put, p[n:n+int(hi-lo)], d[lo:hi]); err != nil {
			return n, err
		}
		n += int(hi - lo)
	}
	return n, nil
}

// putInto copies src into dst, with put when given.
func putInto(put func(dst, src []byte) error, dst, src []byte) error {
	if put != nil {
		return put(dst, src)
	}
	copy(dst, src)
	return nil
}

// keys returns the keys of units u0+i for i in idx.
func (ss *sharedSource) keys(u0 int64, idx []int) []string {
	keys := make([]string, len(idx))
	for j, i := range idx {
		keys[j] = ss.base + strconv.FormatInt(u0+int64(i), 10)
	}
	return keys
}

// lookup reads units u0+i (i in idx) from Redis into data and, for those
// missing, tries to lease them (in the same round trip): mine are the
// units this node leased, theirs those another node is fetching. count
// says whether hits and misses are counted (not again while waiting).
func (ss *sharedSource) lookup(ctx context.Context, u0 int64, idx []int, data [][]byte, count bool) (mine, theirs []int, err error) {
	s := ss.s
	keys := ss.keys(u0, idx)
	// A node keeps few lookups in flight: the server answers them one
	// after the other, and a deadline must time the call, not a queue.
	select {
	case s.lookups <- struct{}{}:
		defer func() { <-s.lookups }()
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	cctx, cancel := s.ctx(ctx, int64(len(idx))*s.unit)
	defer cancel()
	pipe := s.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(idx))
	leases := make([]*redis.BoolCmd, len(idx))
	for j, k := range keys {
		gets[j] = pipe.Get(cctx, k)
		leases[j] = pipe.SetNX(cctx, k+":lease", s.token, s.leaseTTL)
	}
	if _, err := pipe.Exec(cctx); err != nil && !errors.Is(err, redis.Nil) {
		s.fail(err)
		return nil, nil, err
	}
	// A lease refused with an error (a full server: OOM) is no other
	// node's: the unit is fetched here.
	var leaseErr error
	for _, l := range leases {
		if err := l.Err(); err != nil && leaseErr == nil {
			leaseErr = err
		}
	}
	if leaseErr != nil {
		s.fail(leaseErr)
	} else {
		s.br.success()
	}
	var extra []string // leases taken for units that were there after all
	for j, i := range idx {
		u := u0 + int64(i)
		if v, err := gets[j].Bytes(); err == nil {
			s.readBytes.Add(int64(len(v)))
			d, derr := decodeValue(v, kindUnit, ss.obj.Key, ss.etag, u*s.unit, int(ss.unitLen(u)))
			if derr == nil {
				data[i] = d
				if count {
					s.hits.Add(1)
				}
				if leases[j].Val() {
					extra = append(extra, keys[j])
				}
				continue
			}
			if count {
				s.errs.Add(1)
				s.log.Debug("shared cache: unusable unit, fetching it", "unit", u, "err", derr)
			}
		}
		if count {
			s.misses.Add(1)
		}
		if leases[j].Val() || leases[j].Err() != nil {
			mine = append(mine, i)
		} else {
			theirs = append(theirs, i)
		}
	}
	s.unlease(extra)
	return mine, theirs, nil
}

// await waits for the units theirs, which other nodes are fetching, to
// appear in Redis, for at most LeaseWait. It returns the units to fetch
// here after all: those whose lease it could take (their fetcher gave up
// or died), and all left at the deadline or once the breaker is down (a
// failed poll of a server still up is tried again: a fleet reading one
// file at once makes it slow, and fetching here would cost the provider
// the bytes another node is fetching).
func (ss *sharedSource) await(ctx context.Context, u0 int64, theirs []int, data [][]byte) (left []int) {
	if len(theirs) == 0 {
		return nil
	}
	s := ss.s
	s.leaseWaits.Add(int64(len(theirs)))
	deadline := time.Now().Add(s.leaseWait)
	pause := 2 * time.Millisecond
	for len(theirs) > 0 {
		if time.Now().After(deadline) {
			s.log.Debug("shared cache: gave up waiting for another node's fetch", "units", len(theirs))
			return append(left, theirs...)
		}
		select {
		case <-ctx.Done():
			return append(left, theirs...)
		case <-time.After(pause):
		}
		pause = min(2*pause, 50*time.Millisecond)
		// A cheap poll first: has the first unit waited for appeared, or
		// its lease gone? A fetcher stores its units together.
		ready, err := ss.ready(ctx, ss.keys(u0, theirs[:1])[0])
		if err == nil && !ready {
			continue
		}
		var mine, still []int
		if err == nil {
			mine, still, err = ss.lookup(ctx, u0, theirs, data, false)
		}
		if err != nil {
			if ctx.Err() != nil || !s.br.allow() {
				return append(left, theirs...)
			}
			continue
		}
		left = append(left, mine...)
		theirs = still
	}
	return left
}

// ready reports whether the value of key is there or its lease is gone
// (EXISTS of both: no value moves).
func (ss *sharedSource) ready(ctx context.Context, key string) (bool, error) {
	s := ss.s
	cctx, cancel := s.ctx(ctx, 0)
	defer cancel()
	pipe := s.rdb.Pipeline()
	val := pipe.Exists(cctx, key)
	lease := pipe.Exists(cctx, key+":lease")
	if _, err := pipe.Exec(cctx); err != nil {
		s.fail(err)
		return false, err
	}
	return val.Val() == 1 || lease.Val() == 0, nil
}

// fetchUnits fetches units u0+r[0] .. u0+r[1] (adjacent) from Src in one
// request into data. progress, when set, is told as the bytes arrive.
func (ss *sharedSource) fetchUnits(ctx context.Context, u0 int64, r [2]int, data [][]byte, progress func(buf []byte, n int)) (err error) {
	s := ss.s
	lo := (u0 + int64(r[0])) * s.unit
	hi := min((u0+int64(r[1])+1)*s.unit, ss.obj.Size)
	buf := make([]byte, hi-lo)
	adviseHuge(buf)
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("cache: fetch bytes %d-%d: source panicked: %v", lo, hi-1, v)
		}
	}()
	var n int
	if ps, ok := ss.obj.Src.(ProgressSource); ok && progress != nil {
		n, err = ps.ReadAtProgress(ctx, buf, lo, func(n int) { progress(buf, n) })
	} else {
		n, err = ss.obj.Src.ReadAt(ctx, buf, lo)
	}
	if n == len(buf) && (err == nil || errors.Is(err, io.EOF)) {
		err = nil
	} else if err == nil || errors.Is(err, io.EOF) {
		err = fmt.Errorf("cache: fetch bytes %d-%d: got %d bytes: %w", lo, hi-1, n, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return err
	}
	for i := r[0]; i <= r[1]; i++ {
		a := int64(i-r[0]) * s.unit
		data[i] = buf[a:min(a+s.unit, int64(len(buf)))]
	}
	return nil
}

// fetchAll fetches all the units of a read, leased here, in one request,
// handing the bytes of p to the reader as they arrive.
func (ss *sharedSource) fetchAll(ctx context.Context, p []byte, off, u0 int64, progress func(int), put func(dst, src []byte) error) (int, error) {
	s := ss.s
	all := make([]int, (off+int64(len(p))-1)/s.unit-u0+1)
	for i := range all {
		all[i] = i
	}
	data := make([][]byte, len(all))
	skip := int(off - u0*s.unit) // bytes of the first unit before p
	done := 0                    // bytes of p put so far
	var perr error
	hook := func(buf []byte, n int) {
		to := min(n-skip, len(p))
		if to <= done || perr != nil {
			return
		}
		if perr = putInto(put, p[done:to], buf[skip+done:skip+to]); perr == nil {
			done = to
			if progress != nil {
				progress(done)
			}
		}
	}
	err := ss.fetchUnits(ctx, u0, [2]int{0, len(all) - 1}, data, hook)
	if err == nil {
		err = perr
	}
	if err != nil {
		s.unlease(ss.keys(u0, all))
		return done, err
	}
	if done < len(p) { // Src told no progress
		buf := data[0][:cap(data[0])]
		if err := putInto(put, p[done:], buf[skip+done:skip+len(p)]); err != nil {
			return done, err
		}
	}
	ss.storeUnits(u0, all, data)
	return len(p), nil
}

// storeUnits stores units u0+i (i in idx) and releases their leases.
func (ss *sharedSource) storeUnits(u0 int64, idx []int, data [][]byte) {
	if len(idx) == 0 {
		return
	}
	kv := make(map[string][]byte, len(idx))
	keys := ss.keys(u0, idx)
	for j, i := range idx {
		u := u0 + int64(i)
		kv[keys[j]] = encodeValue(kindUnit, ss.obj.Key, ss.etag, u*ss.s.unit, data[i])
	}
	ss.s.store(kv, ss.s.ttl, keys)
}

// adjacent groups sorted unit indexes into runs [first, last].
func adjacent(idx []int) [][2]int {
	var runs [][2]int
	for _, i := range idx {
		if n := len(runs); n > 0 && runs[n-1][1] == i-1 {
			runs[n-1][1] = i
			continue
		}
		runs = append(runs, [2]int{i, i})
	}
	return runs
}
