package fakestac

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// PresignOptions configures a PresignStore.
type PresignOptions struct {
	// TTL is the lifetime of URLs signed with ttl 0 (default 12 h, as EarthDaily's).
	TTL time.Duration
	// Bucket names the bucket of S3URI (default "fakestac-bucket").
	Bucket string
	// StrictHEAD refuses a HEAD request on a URL signed for GET (403 SignatureDoesNotMatch),
	// as real S3 does since the method is part of what is signed. By default HEAD is served.
	StrictHEAD bool
}

// PresignStore is a fake S3 bucket on its own origin serving objects only at URLs signed
// with query parameters (SigV2 style): AWSAccessKeyId, Signature, x-amz-security-token and
// Expires=<unix seconds>. It answers, with S3's XML error bodies (no body for HEAD):
//
//   - 400 InvalidArgument "Only one auth mechanism allowed; ..." to any request carrying an
//     Authorization header (checked first);
//   - 403 AccessDenied "Access Denied" without query authentication;
//   - 403 SignatureDoesNotMatch when the signature is wrong (path, Expires or token changed);
//   - 403 AccessDenied "Request has expired" after Expires, and for every URL issued before
//     the last Expire call;
//   - the object otherwise, via http.ServeContent (Range, HEAD, ETag, conditional requests)
//     or the degraded modes of its Asset.
//
// Its Server logs every request with its headers.
type PresignStore struct {
	// Server is the underlying server (AssetsOnly): Requests, SetFault, Count, BytesServed.
	Server *Server
	// URL is the origin, http://127.0.0.1:port.
	URL string
	// Bucket is the bucket name of S3URI.
	Bucket string
	// AccessKeyID is the AWSAccessKeyId of signed URLs.
	AccessKeyID string

	opts   PresignOptions
	secret []byte

	mu sync.Mutex
	// GUARDED_BY(mu):
	gens map[string]int // security token -> generation
	gen  int
	tok  string // token of the current generation
}

// NewPresignStore starts a PresignStore on 127.0.0.1 with a random port.
func NewPresignStore(o PresignOptions) *PresignStore {
	if o.TTL <= 0 {
		o.TTL = 12 * time.Hour
	}
	if o.Bucket == "" {
		o.Bucket = "fakestac-bucket"
	}
	p := &PresignStore{
		Server:      New(Options{AssetsOnly: true}),
		Bucket:      o.Bucket,
		AccessKeyID: "ASIAFAKESTAC" + randHex(4),
		opts:        o,
		secret:      []byte(randHex(20)),
		gens:        make(map[string]int),
	}
	p.URL = p.Server.URL
	p.newTokenLocked()
	p.Server.AddGuard("/", p.check)
	return p
}

func (p *PresignStore) newTokenLocked() {
	p.tok = "IQoJb3JpZ2luX2VjEFAKE" + base64.RawURLEncoding.EncodeToString([]byte(randHex(24)))
	p.gens[p.tok] = p.gen
}

// Close shuts the store down.
func (p *PresignStore) Close() { p.Server.Close() }

// Requests returns the store's request log.
func (p *PresignStore) Requests() []Request { return p.Server.Requests() }

// AddObject serves the bytes of a at a.Path (e.g. "/_PUBLIC/coll/2024/01/02/ID/ID_B04.TIF"),
// with a's Range/HEAD/length behaviour.
func (p *PresignStore) AddObject(a Asset) { p.Server.AddAsset(a) }

// S3URI returns s3://<bucket><path> for an object path.
func (p *PresignStore) S3URI(path string) string { return "s3://" + p.Bucket + path }

// Sign returns a fresh presigned GET URL of path, valid for ttl (0: the store's TTL; a
// negative ttl gives an URL that has already expired). Expires has a one-second granularity.
func (p *PresignStore) Sign(path string, ttl time.Duration) string {
	if ttl == 0 {
		ttl = p.opts.TTL
	}
	exp := time.Now().Add(ttl).Unix()
	if ttl < 0 {
		exp = time.Now().Unix() - 1
	}
	p.mu.Lock()
	tok := p.tok
	p.mu.Unlock()
	expires := strconv.FormatInt(exp, 10)
	sig := p.signature(http.MethodGet, path, expires, tok)
	return p.URL + (&url.URL{Path: path}).EscapedPath() +
		"?AWSAccessKeyId=" + url.QueryEscape(p.AccessKeyID) +
		"&Signature=" + url.QueryEscape(sig) +
		"&x-amz-security-token=" + url.QueryEscape(tok) +
		"&Expires=" + expires
}

// Expire invalidates every URL signed so far: they answer 403 "Request has expired" from
// now on. URLs signed afterwards work.
func (p *PresignStore) Expire() {
	p.mu.Lock()
	p.gen++
	p.newTokenLocked()
	p.mu.Unlock()
}

// signature is the SigV2 query signature: base64(HMAC-SHA1(secret, string to sign)).
func (p *PresignStore) signature(method, path, expires, tok string) string {
	m := hmac.New(sha1.New, p.secret)
	fmt.Fprintf(m, "%s\n\n\n%s\nx-amz-security-token:%s\n/%s%s", method, expires, tok, p.Bucket, path)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// s3Error answers an S3 error with an XML body (none for HEAD).
func s3Error(w http.ResponseWriter, r *http.Request, status int, code, msg string, extra ...string) {
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>" + code + "</Code><Message>" +
		html.EscapeString(msg) + "</Message>"
	for i := 0; i+1 < len(extra); i += 2 {
		body += "<" + extra[i] + ">" + html.EscapeString(extra[i+1]) + "</" + extra[i] + ">"
	}
	body += "<RequestId>" + randHex(8) + "</RequestId><HostId>" + randHex(16) + "</HostId></Error>"
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", randHex(8))
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// check refuses requests that are not correctly presigned.
func (p *PresignStore) check(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if auth := r.Header.Get("Authorization"); auth != "" {
		s3Error(w, r, http.StatusBadRequest, "InvalidArgument",
			"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
			"ArgumentName", "Authorization", "ArgumentValue", auth)
		return true
	}
	key, sig, expires, tok := q.Get("AWSAccessKeyId"), q.Get("Signature"), q.Get("Expires"), q.Get("x-amz-security-token")
	switch {
	case key == "" && sig == "" && expires == "":
		s3Error(w, r, http.StatusForbidden, "AccessDenied", "Access Denied")
		return true
	case key == "" || sig == "" || expires == "":
		s3Error(w, r, http.StatusForbidden, "AccessDenied",
			"Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
		return true
	case key != p.AccessKeyID:
		s3Error(w, r, http.StatusForbidden, "InvalidAccessKeyId",
			"The AWS Access Key Id you provided does not exist in our records.", "AWSAccessKeyId", key)
		return true
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil {
		s3Error(w, r, http.StatusForbidden, "AccessDenied", "Invalid date (should be seconds since epoch): "+expires)
		return true
	}
	p.mu.Lock()
	gen, known := p.gens[tok]
	cur := p.gen
	p.mu.Unlock()
	if !known {
		s3Error(w, r, http.StatusBadRequest, "InvalidToken", "The provided token is malformed or otherwise invalid.", "Token-0", tok)
		return true
	}
	method := r.Method
	if method == http.MethodHead && !p.opts.StrictHEAD {
		method = http.MethodGet
	}
	if !hmac.Equal([]byte(sig), []byte(p.signature(method, r.URL.Path, expires, tok))) {
		s3Error(w, r, http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.",
			"AWSAccessKeyId", key)
		return true
	}
	now := time.Now().UTC()
	if gen < cur || now.Unix() > exp {
		s3Error(w, r, http.StatusForbidden, "AccessDenied", "Request has expired",
			"Expires", time.Unix(exp, 0).UTC().Format(time.RFC3339), "ServerTime", now.Format(time.RFC3339))
		return true
	}
	p.Server.mu.Lock()
	obj := p.Server.assets[r.URL.Path]
	p.Server.mu.Unlock()
	if obj == nil {
		s3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", "Key", r.URL.Path[1:])
		return true
	}
	return false
}
