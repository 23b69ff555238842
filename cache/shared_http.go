package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// TransportOptions configures Shared.Transport.
type TransportOptions struct {
	// TTL is how long an answer lives in Redis: the metadata TTL.
	TTL time.Duration
	// Key returns the URL that names a request's answer, without
	// signatures (the same for every node); nil uses the URL as it is,
	// without user info.
	Key func(u string) string
	// AllowAuth shares answers to requests that carry credentials
	// (Authorization, Cookie); without it they go to the server alone.
	AllowAuth bool
	// MaxBody is the largest answer shared (default 8 MiB).
	MaxBody int64
}

// maxKeyBody is the largest request body (a STAC search) read for a key.
const maxKeyBody = 64 << 10

// sharedHeaders are the answer headers kept: no Set-Cookie, nothing
// about the requester.
var sharedHeaders = []string{"Content-Type", "Content-Range", "Accept-Ranges", "ETag", "Last-Modified", "Link"}

// Transport returns next with the fleet's metadata answers shared through
// the tier: a GET or POST (a STAC search) without Range, or with a Range
// from byte 0 (a probe of an asset's size and version), answered 200 or
// 206, is looked up by its method, unsigned URL, Range, Accept and body;
// on a miss one node asks (a lease, as for units) and stores the answer
// for TTL. Block fetches of the cache, answers of token and signing
// endpoints, answers with tokens in them and answers marked private or
// no-store are never stored; only the status, the body and the headers
// above are. Any trouble with Redis sends the request on as if there
// were no tier.
func (s *Shared) Transport(next http.RoundTripper, o TransportOptions) http.RoundTripper {
	if o.MaxBody == 0 {
		o.MaxBody = 8 << 20
	}
	if o.Key == nil {
		o.Key = func(u string) string { return u }
	}
	return &sharedTransport{s: s, next: next, o: o}
}

type sharedTransport struct {
	s    *Shared
	next http.RoundTripper
	o    TransportOptions
}

// storedAnswer is the header of a stored answer (before its body).
type storedAnswer struct {
	Status int                 `json:"status"`
	Header map[string][]string `json:"header"`
}

func (t *sharedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	id, ok := t.identity(req)
	if !ok || !t.s.br.allow() {
		return t.next.RoundTrip(req)
	}
	s := t.s
	sum := sha256.Sum256([]byte(id))
	key := fmt.Sprintf("%sm:%x", s.prefix, sum[:20])
	ctx := req.Context()
	deadline := time.Now().Add(s.leaseWait)
	pause := 2 * time.Millisecond
	counted := false
	for {
		resp, leased, err := t.lookup(ctx, req, key, id, !counted)
		counted = true
		switch {
		case err != nil:
			return t.next.RoundTrip(req)
		case resp != nil:
			return resp, nil
		case leased:
			return t.fetch(req, key, id)
		case time.Now().After(deadline):
			return t.next.RoundTrip(req)
		}
		if pause == 2*time.Millisecond {
			s.leaseWaits.Add(1)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// identity returns what names req's answer, and whether it may be shared.
func (t *sharedTransport) identity(req *http.Request) (string, bool) {
	ctx := req.Context()
	if ctx.Value(blockFetchKey{}) != nil || (req.Method != http.MethodGet && req.Method != http.MethodPost) {
		return "", false
	}
	if !t.o.AllowAuth && (req.Header.Get("Authorization") != "" || req.Header.Get("Cookie") != "") {
		return "", false
	}
	rng := req.Header.Get("Range")
	if rng != "" && !strings.HasPrefix(rng, "bytes=0-") {
		return "", false
	}
	if req.Header.Get("If-Match") != "" || req.Header.Get("If-None-Match") != "" || isTokenPath(req.URL.Path) {
		return "", false
	}
	u := *req.URL
	u.User = nil
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil || req.ContentLength < 0 || req.ContentLength > maxKeyBody {
			return "", false
		}
		rc, err := req.GetBody()
		if err != nil {
			return "", false
		}
		body, err = io.ReadAll(io.LimitReader(rc, maxKeyBody+1))
		rc.Close()
		if err != nil || len(body) > maxKeyBody {
			return "", false
		}
	}
	return req.Method + " " + t.o.Key(u.String()) + "\nRange: " + rng + "\nAccept: " + req.Header.Get("Accept") + "\n\n" + string(body), true
}

// isTokenPath reports whether a URL path looks like a token or signing
// endpoint, whose answers are never shared.
func isTokenPath(p string) bool {
	p = strings.ToLower(p)
	for _, w := range []string{"token", "/sign", "oauth", "/auth"} {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

// lookup reads the answer under key and, when it is missing, tries to
// take its lease in the same round trip.
func (t *sharedTransport) lookup(ctx context.Context, req *http.Request, key, id string, count bool) (resp *http.Response, leased bool, err error) {
	s := t.s
	cctx, cancel := s.ctx(ctx, t.o.MaxBody/8)
	defer cancel()
	pipe := s.rdb.Pipeline()
	get := pipe.Get(cctx, key)
	lease := pipe.SetNX(cctx, key+":lease", s.token, s.leaseTTL)
	if _, err := pipe.Exec(cctx); err != nil && !errors.Is(err, redis.Nil) {
		s.fail(err)
		return nil, false, err
	}
	if err := lease.Err(); err != nil {
		s.fail(err) // a full server (OOM): no other node holds it either
	} else {
		s.br.success()
	}
	if v, err := get.Bytes(); err == nil {
		s.readBytes.Add(int64(len(v)))
		resp, derr := decodeAnswer(v, id, req)
		if derr == nil {
			if count {
				s.hits.Add(1)
			}
			if lease.Val() {
				s.unlease([]string{key})
			}
			return resp, false, nil
		}
		s.errs.Add(1)
		s.log.Debug("shared cache: unusable answer, asking the server", "err", derr)
	}
	if count {
		s.misses.Add(1)
	}
	return nil, lease.Val() || lease.Err() != nil, nil
}

// fetch sends req on (this node holds the lease of key) and stores a
// shareable answer.
func (t *sharedTransport) fetch(req *http.Request, key, id string) (*http.Response, error) {
	s := t.s
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		s.unlease([]string{key})
		return resp, err
	}
	want := http.StatusOK
	if req.Header.Get("Range") != "" {
		want = http.StatusPartialContent
	}
	cc := strings.ToLower(resp.Header.Get("Cache-Control"))
	if (resp.StatusCode != want && resp.StatusCode != http.StatusOK) || resp.ContentLength > t.o.MaxBody || strings.Contains(cc, "no-store") || strings.Contains(cc, "private") ||
		(resp.ContentLength < 0 && !strings.Contains(resp.Header.Get("Content-Type"), "json")) {
		s.unlease([]string{key})
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, t.o.MaxBody+1))
	if err != nil || int64(len(body)) > t.o.MaxBody || hasToken(resp.Header.Get("Content-Type"), body) {
		// Hand over what was read and the rest, unshared.
		s.unlease([]string{key})
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), errReader{err}, resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	h := map[string][]string{}
	for _, k := range sharedHeaders {
		if v := resp.Header.Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	head, _ := json.Marshal(storedAnswer{Status: resp.StatusCode, Header: h})
	payload := append(binaryLen(len(head)), head...)
	payload = append(payload, body...)
	s.store(map[string][]byte{key: encodeValue(kindMeta, id, "", 0, payload)}, t.o.TTL, []string{key})
	return resp, nil
}

// errReader fails with err (nil: reads nothing).
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// hasToken reports whether a JSON answer holds a credential at its top
// level (a token or signing endpoint under an unusual path).
func hasToken(contentType string, body []byte) bool {
	if !strings.Contains(contentType, "json") {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	for k := range m {
		switch strings.ToLower(k) {
		case "token", "access_token", "refresh_token", "id_token", "msft:expiry", "signed_url", "href_signed":
			return true
		}
	}
	return false
}

// binaryLen is n as 4 bytes, little endian.
func binaryLen(n int) []byte {
	return []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
}

// decodeAnswer checks a stored answer and rebuilds the response to req.
func decodeAnswer(v []byte, id string, req *http.Request) (*http.Response, error) {
	payload, err := decodeValue(v, kindMeta, id, "", 0, -1)
	if err != nil {
		return nil, err
	}
	if len(payload) < 4 {
		return nil, fmt.Errorf("%w: short answer", errUnusable)
	}
	n := int(payload[0]) | int(payload[1])<<8 | int(payload[2])<<16 | int(payload[3])<<24
	if n > len(payload)-4 {
		return nil, fmt.Errorf("%w: short answer", errUnusable)
	}
	var a storedAnswer
	if err := json.Unmarshal(payload[4:4+n], &a); err != nil {
		return nil, fmt.Errorf("%w: %v", errUnusable, err)
	}
	body := payload[4+n:]
	h := http.Header{}
	for k, vs := range a.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status: fmt.Sprintf("%d %s", a.Status, http.StatusText(a.Status)), StatusCode: a.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}, nil
}
