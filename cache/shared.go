package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults of SharedOptions.
const (
	DefaultSharedTTL         = 24 * time.Hour
	DefaultSharedKeyPrefix   = "stacfs:"
	DefaultSharedUnit        = 256 << 10
	DefaultSharedCallTimeout = 50 * time.Millisecond
	DefaultSharedLeaseWait   = 10 * time.Second
	// MinSharedUnit is the smallest unit: one round trip to Redis carries
	// several blocks (a COG tile, a read-ahead chunk).
	MinSharedUnit = 256 << 10
)

// SharedOptions configures a Shared tier.
type SharedOptions struct {
	// URL of the server: redis:// or rediss:// (TLS); with a master_name
	// query parameter, the addresses (host and addr= parameters) are
	// Sentinels; with scheme redis+cluster:// or rediss+cluster://, they
	// are Cluster nodes. User info in the URL is used and never logged.
	URL string
	// Password overrides the password of the URL's user info.
	Password string
	// TTL is how long a unit lives in Redis (default 24h).
	TTL time.Duration
	// KeyPrefix starts every key (default "stacfs:").
	KeyPrefix string
	// Unit is the size of a stored unit of an object (default and least
	// 256 KiB).
	Unit int64
	// CallTimeout bounds one call to Redis (default 50ms, plus 100ns a byte
	// for large values): a slow server costs a reader no more than that.
	CallTimeout time.Duration
	// LeaseWait bounds how long a node waits for another node's fetch of
	// a unit before it fetches the unit itself (default 10s).
	LeaseWait time.Duration
	// Logger receives state changes (warn, info) and unusable values
	// (debug); nil discards them.
	Logger *slog.Logger
}

// Shared is a cache tier on a Redis or Valkey server shared by the caches
// of a fleet (Options.Shared), below memory and disk and above the
// provider. Objects are stored in units of SharedOptions.Unit bytes, keyed
// by Object.Key (URL and version), unit size and index; each value carries
// a header checked on every read (a mismatch is a miss, never wrong bytes).
// When several nodes miss one unit at once, one fetches it (a SET NX lease)
// and the others wait for its value, up to LeaseWait.
//
// The tier is never worse than none: an error, a slow answer or a full
// server sends the read to the provider, and after a few failures in a row
// the tier is left alone for a while (a circuit breaker with backoff).
// Transport shares metadata answers the same way.
type Shared struct {
	rdb       redis.UniversalClient
	prefix    string
	ttl       time.Duration
	unit      int64
	call      time.Duration
	leaseWait time.Duration
	leaseTTL  time.Duration
	token     string        // this node's lease value
	stores    chan storeJob // stores waiting for a writer
	quit      chan struct{} // closed by Close: the writers return
	log       *slog.Logger
	br        *breaker

	hits, misses, errs, readBytes, storedBytes, leaseWaits atomic.Int64
	queued                                                 atomic.Int64  // bytes of the queued stores
	lookups                                                chan struct{} // bounds the unit lookups in flight
}

// SharedStats are counters of a Shared tier since NewShared: units of
// blocks and metadata answers alike.
type SharedStats struct {
	Hits        int64 // found in Redis, checked
	Misses      int64 // not found (or unusable) and fetched
	Errors      int64 // failed or timed-out calls, unusable values
	Bytes       int64 // bytes read from Redis
	StoredBytes int64 // bytes written to Redis
	LeaseWaits  int64 // waits for another node's fetch
}

// NewShared connects to the server at o.URL. An unreachable server is no
// error (the tier stays off until it answers); a bad URL is.
func NewShared(o SharedOptions) (*Shared, error) {
	if o.TTL == 0 {
		o.TTL = DefaultSharedTTL
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultSharedKeyPrefix
	}
	if o.Unit == 0 {
		o.Unit = DefaultSharedUnit
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = DefaultSharedCallTimeout
	}
	if o.LeaseWait == 0 {
		o.LeaseWait = DefaultSharedLeaseWait
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.TTL < 0:
		return nil, fmt.Errorf("cache: shared tier: negative ttl %v", o.TTL)
	case o.Unit < MinSharedUnit:
		return nil, fmt.Errorf("cache: shared tier: unit %d is below %d bytes", o.Unit, MinSharedUnit)
	case o.CallTimeout < 0 || o.LeaseWait < 0:
		return nil, errors.New("cache: shared tier: negative timeout")
	}
	setRedisLogger.Do(func() { redis.SetLogger(redisLog{o.Logger}) })
	rdb, err := newRedisClient(o.URL, o.Password, o.CallTimeout)
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 8)
	_, _ = rand.Read(tok)
	s := &Shared{
		rdb: rdb, prefix: o.KeyPrefix, ttl: o.TTL, unit: o.Unit, call: o.CallTimeout,
		leaseWait: o.LeaseWait, leaseTTL: o.LeaseWait + 5*time.Second,
		token: hex.EncodeToString(tok), stores: make(chan storeJob, maxQueuedStores), quit: make(chan struct{}),
		lookups: make(chan struct{}, maxLookups),
		log:     o.Logger.With("tier", "shared", "server", RedactRedisURL(o.URL)),
	}
	s.br = newBreaker(s.log)
	for range storeWriters {
		go s.writer()
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(time.Second, o.CallTimeout))
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		s.fail(err)
		s.br.open(err)
	} else {
		s.log.Info("shared cache connected")
	}
	return s, nil
}

// setRedisLogger sends the client's own log lines (it has one logger per
// process) to the first tier's logger, at debug level.
var setRedisLogger sync.Once

type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug("redis client: " + fmt.Sprintf(format, v...))
}

// newRedisClient parses u (see SharedOptions.URL).
func newRedisClient(u, password string, call time.Duration) (redis.UniversalClient, error) {
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" {
		return nil, fmt.Errorf("cache: shared tier: url %q: want redis://host:port/db or rediss://", RedactRedisURL(u))
	}
	bad := func(err error) error {
		msg := err.Error()
		if p, ok := pu.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
		return fmt.Errorf("cache: shared tier: url %q: %s", RedactRedisURL(u), msg)
	}
	// tune sets what every kind of client shares: the password, timeouts
	// (calls carry their own, shorter deadline) and no retries (a failed
	// dial or call is not tried again: the breaker decides when).
	tune := func(pw *string, dial, read, write *time.Duration, ctxOn *bool, dialRetries, retries *int) {
		if password != "" {
			*pw = password
		}
		*dial = max(time.Second, 10*call)
		*read, *write = *dial, *dial
		*ctxOn, *dialRetries, *retries = true, 1, -1
	}
	noMaint := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	switch {
	case pu.Scheme == "redis+cluster" || pu.Scheme == "rediss+cluster":
		pu.Scheme = strings.TrimSuffix(pu.Scheme, "+cluster")
		opt, err := redis.ParseClusterURL(pu.String())
		if err != nil {
			return nil, bad(err)
		}
		tune(&opt.Password, &opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.ContextTimeoutEnabled, &opt.DialerRetries, &opt.MaxRetries)
		opt.MaintNotificationsConfig = noMaint
		return redis.NewClusterClient(opt), nil
	case (pu.Scheme == "redis" || pu.Scheme == "rediss") && pu.Query().Has("master_name"):
		opt, err := redis.ParseFailoverURL(u)
		if err != nil {
			return nil, bad(err)
		}
		tune(&opt.Password, &opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.ContextTimeoutEnabled, &opt.DialerRetries, &opt.MaxRetries)
		return redis.NewFailoverClient(opt), nil
	case pu.Scheme == "redis" || pu.Scheme == "rediss":
		opt, err := redis.ParseURL(u)
		if err != nil {
			return nil, bad(err)
		}
		tune(&opt.Password, &opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.ContextTimeoutEnabled, &opt.DialerRetries, &opt.MaxRetries)
		opt.MaintNotificationsConfig = noMaint
		return redis.NewClient(opt), nil
	}
	return nil, fmt.Errorf("cache: shared tier: url %q: scheme %q: want redis, rediss, redis+cluster or rediss+cluster", RedactRedisURL(u), pu.Scheme)
}

// RedactRedisURL returns u with the password of its user info replaced,
// for logs and errors.
func RedactRedisURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		if i := strings.LastIndex(u, "@"); i >= 0 {
			return "xxxxx" + u[i:]
		}
		return u
	}
	return pu.Redacted()
}

// Close closes the connections. Reads through the tier then go to the
// provider.
// A nil Shared is no tier: Close does nothing.
func (s *Shared) Close() error {
	if s == nil {
		return nil
	}
	close(s.quit)
	return s.rdb.Close()
}

// Stats returns a snapshot of the counters.
func (s *Shared) Stats() SharedStats {
	return SharedStats{
		Hits: s.hits.Load(), Misses: s.misses.Load(), Errors: s.errs.Load(),
		Bytes: s.readBytes.Load(), StoredBytes: s.storedBytes.Load(), LeaseWaits: s.leaseWaits.Load(),
	}
}

// ctx returns the context of one call moving about n bytes: the call
// timeout plus perByte a byte it moves; the caller's
// cancellation still ends it.
func (s *Shared) ctx(parent context.Context, n int64) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, s.call+time.Duration(n)*perByte)
}

// fail counts a failed call and tells the breaker. A cancelled caller is
// not the server's failure.
func (s *Shared) fail(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.errs.Add(1)
	s.br.failure(err)
}

// lease tries to take the lease of key (SET NX PX): true when this node
// is to fetch it.
func (s *Shared) lease(ctx context.Context, key string) (bool, error) {
	cctx, cancel := s.ctx(ctx, 0)
	defer cancel()
	return s.rdb.SetNX(cctx, key+":lease", s.token, s.leaseTTL).Result()
}

// unleaseScript deletes a lease only while this node holds it.
var unleaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// unlease gives up the leases of keys this node holds, in the background.
// Other nodes wait for a lease until it is released or expires (lease_wait
// plus 5 s), so the release is given the time of a store (at least 1 s),
// not a lookup's 50 ms: on a loaded node a release cut short by the call
// timeout left the fleet waiting lease_wait for units nobody stored.
func (s *Shared) unlease(keys []string) {
	if len(keys) == 0 {
		return
	}
	go s.release(keys)
}

// release deletes the leases of keys this node holds.
func (s *Shared) release(keys []string) {
	ctx, cancel := context.WithTimeout(context.Background(), max(time.Second, s.call))
	defer cancel()
	pipe := s.rdb.Pipeline()
	for _, k := range keys {
		unleaseScript.Eval(ctx, pipe, []string{k + ":lease"}, s.token)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		s.log.Debug("shared cache: lease not released (it expires)", "err", err)
	}
}

// Stores run in the background, by storeWriters goroutines, from a queue
// of at most maxQueuedStores holding maxQueuedBytes; a store that finds the
// queue full is dropped.
const (
	storeWriters    = 4
	maxQueuedStores = 256
	maxQueuedBytes  = 64 << 20
)

// storeJob is values to write (key → value) with their TTL, and the
// leases to release after.
type storeJob struct {
	kv     map[string][]byte
	n      int64 // bytes of the values
	ttl    time.Duration
	leased []string
}

// store queues values (key → value) to be written with the TTL, then the
// leases of leased released. When the queue is full the caller writes them
// itself, within the call timeout: other nodes may be waiting for them.
func (s *Shared) store(kv map[string][]byte, ttl time.Duration, leased []string) {
	var n int64
	for _, v := range kv {
		n += int64(len(v))
	}
	if s.queued.Add(n) <= maxQueuedBytes {
		select {
		case s.stores <- storeJob{kv, n, ttl, leased}:
			return
		default:
		}
	}
	s.queued.Add(-n)
	s.write(storeJob{kv, 0, ttl, leased}, s.call+time.Duration(n)*perByte)
}

// writer writes queued stores until Close.
func (s *Shared) writer() {
	for {
		select {
		case <-s.quit:
			return
		case j := <-s.stores:
			s.write(j, max(time.Second, s.call)+time.Duration(j.n)*10)
		}
	}
}

// write does one store within timeout.
func (s *Shared) write(j storeJob, timeout time.Duration) {
	defer s.queued.Add(-j.n)
	var n int64
	for _, v := range j.kv {
		n += int64(len(v))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pipe := s.rdb.Pipeline()
	for k, v := range j.kv {
		pipe.Set(ctx, k, v, j.ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.log.Debug("shared cache: store failed", "err", err)
		s.fail(err)
	} else {
		s.storedBytes.Add(n)
		s.br.success()
	}
	s.unlease(j.leased)
}

// perByte is the time a call is given per byte it moves, on top of the
// call timeout: 100ns (10 MB/s). A fleet reading one file at once shares
// the server's bandwidth: each lookup of a read-ahead chunk (4 MiB) waits
// for the others' answers, and must not be cut short for that.
const perByte = 100

// maxLookups is how many unit lookups one node has in flight.
const maxLookups = 4

// Check makes a round trip to the server as the tier would: PING, then a
// SET, GET and DEL of a key of its own, so that a wrong password, a
// read-only replica or a full server shows (stacfs check). It returns the
// time the round trips took.
func (s *Shared) Check(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	key := s.prefix + "check:" + s.token
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return 0, fmt.Errorf("PING: %w", err)
	}
	if err := s.rdb.Set(ctx, key, "ok", time.Minute).Err(); err != nil {
		return 0, fmt.Errorf("SET: %w", err)
	}
	v, err := s.rdb.Get(ctx, key).Result()
	if err != nil || v != "ok" {
		return 0, fmt.Errorf("GET of the key just set: %q, %w", v, err)
	}
	if err := s.rdb.Del(ctx, key).Err(); err != nil {
		return 0, fmt.Errorf("DEL: %w", err)
	}
	return time.Since(start), nil
}
