package fakestac

import (
	"context"
	"crypto/hmac"
	"encoding/xml"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// S3 is an S3-compatible object store, path-style (URL/bucket/key), that checks requests
// the way S3 does: a SigV4 signature (presigned query or Authorization header) is
// recomputed with the AWS SDK's own signer from the secret of the access key it names and
// must match; the signing region must be the bucket's; a private bucket refuses unsigned
// requests; a requester-pays bucket refuses requests without x-amz-request-payer:
// requester (header or presigned query) and marks the others x-amz-request-charged. Every
// answer about a known bucket carries X-Amz-Bucket-Region. Objects are served by the
// Server's asset code (Range, ETag, If-Match, faults), and the Server's request log and
// counters see every request.
type S3 struct {
	*Server

	mu      sync.Mutex
	buckets map[string]S3Bucket // guarded by mu
	keys    map[string]string   // access key id -> secret, guarded by mu
	stats   S3Stats             // guarded by mu
	now     func() time.Time
}

// S3Bucket describes a bucket of the S3 fake.
type S3Bucket struct {
	Region        string // default us-east-1
	Public        bool   // unsigned requests may read it
	RequesterPays bool   // reads must say x-amz-request-payer: requester (signed)
}

// S3Stats counts the S3 fake's requests by how they were authenticated.
type S3Stats struct {
	Signed   int // valid signature
	Unsigned int // no signature, let through (public bucket)
	Refused  int // answered 4xx by the checks (bad or missing signature, requester pays, region)
	Charged  int // served with x-amz-request-charged: requester
}

// NewS3 starts an S3 fake on 127.0.0.1.
func NewS3() *S3 {
	s := &S3{Server: New(Options{AssetsOnly: true}), buckets: map[string]S3Bucket{}, keys: map[string]string{}, now: time.Now}
	s.AddGuard("/", s.check)
	return s
}

// AddBucket creates (or redefines) a bucket.
func (s *S3) AddBucket(name string, b S3Bucket) {
	if b.Region == "" {
		b.Region = "us-east-1"
	}
	s.mu.Lock()
	s.buckets[name] = b
	s.mu.Unlock()
}

// AddKey accepts the access key id with its secret.
func (s *S3) AddKey(id, secret string) {
	s.mu.Lock()
	s.keys[id] = secret
	s.mu.Unlock()
}

// PutObject serves a at s3://bucket/key (a.Path is set; the rest of a as for AddAsset).
func (s *S3) PutObject(bucket, key string, a Asset) {
	a.Path = "/" + bucket + "/" + key
	s.AddAsset(a)
}

// Stats returns the counters so far.
func (s *S3) Stats() S3Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// count adds one to the counter f picks.
func (s *S3) count(f func(*S3Stats) *int) {
	s.mu.Lock()
	*f(&s.stats)++
	s.mu.Unlock()
}

// check is the guard in front of the objects: it answers every request that S3 would
// refuse, and lets the others through to the asset code.
func (s *S3) check(w http.ResponseWriter, r *http.Request) bool {
	name, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.mu.Lock()
	b, ok := s.buckets[name]
	s.mu.Unlock()
	if !ok {
		return s.refuse(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	}
	w.Header().Set("X-Amz-Bucket-Region", b.Region)
	signed, status, code, msg := s.verify(r, b)
	switch {
	case status != 0:
		return s.refuse(w, status, code, msg)
	case !signed && !b.Public:
		return s.refuse(w, http.StatusForbidden, "AccessDenied", "Access Denied")
	case b.RequesterPays && !requesterPays(r):
		return s.refuse(w, http.StatusForbidden, "AccessDenied", "Access Denied (requester pays bucket: x-amz-request-payer missing)")
	}
	if signed {
		s.count(func(st *S3Stats) *int { return &st.Signed })
	} else {
		s.count(func(st *S3Stats) *int { return &st.Unsigned })
	}
	if b.RequesterPays {
		w.Header().Set("x-amz-request-charged", "requester")
		s.count(func(st *S3Stats) *int { return &st.Charged })
	}
	if key == "" {
		if r.Method != http.MethodHead {
			return s.refuse(w, http.StatusNotImplemented, "NotImplemented", "only HEAD of a bucket is served")
		}
		w.WriteHeader(http.StatusOK) // HeadBucket
		return true
	}
	return false
}

// refuse answers an S3 error document and counts the refusal.
func (s *S3) refuse(w http.ResponseWriter, status int, code, msg string) bool {
	if status != http.StatusNotFound {
		s.count(func(st *S3Stats) *int { return &st.Refused })
	}
	type s3Error struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	body, _ := xml.Marshal(s3Error{Code: code, Message: msg})
	_, _ = w.Write(append([]byte(xml.Header), body...))
	return true
}

// requesterPays reports whether r says the requester pays.
func requesterPays(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("X-Amz-Request-Payer"), "requester") ||
		strings.EqualFold(r.URL.Query().Get("x-amz-request-payer"), "requester")
}

// sigTimeFormat is the X-Amz-Date format.
const sigTimeFormat = "20060102T150405Z"

// sigv4 is what a request says of its signature.
type sigv4 struct {
	keyID, region, service string
	date                   time.Time
	signedHeaders          []string
	signature              string
	presigned              bool
	expires                time.Duration // presigned only
	payloadHash            string
	sessionToken           string
}

// parseSigV4 reads the signature of r; ok is false for an unsigned request.
func parseSigV4(r *http.Request) (sig sigv4, ok bool, err string) {
	q := r.URL.Query()
	var cred, date, signed string
	switch {
	case q.Get("X-Amz-Algorithm") != "":
		if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
			return sig, true, "unsupported X-Amz-Algorithm"
		}
		sig.presigned = true
		cred, date, signed, sig.signature = q.Get("X-Amz-Credential"), q.Get("X-Amz-Date"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature")
		secs, perr := strconv.Atoi(q.Get("X-Amz-Expires"))
		if perr != nil || secs <= 0 || secs > 7*24*3600 {
			return sig, true, "X-Amz-Expires must be 1 to 604800 seconds"
		}
		sig.expires = time.Duration(secs) * time.Second
		sig.payloadHash = "UNSIGNED-PAYLOAD"
		sig.sessionToken = q.Get("X-Amz-Security-Token")
	case strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "):
		for _, part := range strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "), ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				cred = v
			case "SignedHeaders":
				signed = v
			case "Signature":
				sig.signature = v
			}
		}
		date = r.Header.Get("X-Amz-Date")
		sig.payloadHash = r.Header.Get("X-Amz-Content-Sha256")
		sig.sessionToken = r.Header.Get("X-Amz-Security-Token")
		if sig.payloadHash == "" {
			return sig, true, "x-amz-content-sha256 missing"
		}
	case r.Header.Get("Authorization") != "":
		return sig, true, "unsupported Authorization scheme"
	default:
		return sig, false, ""
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return sig, true, "malformed credential"
	}
	sig.keyID, sig.region, sig.service = parts[0], parts[2], parts[3]
	t, perr := time.Parse(sigTimeFormat, date)
	if perr != nil || t.Format("20060102") != parts[1] {
		return sig, true, "malformed or mismatched X-Amz-Date"
	}
	sig.date = t
	sig.signedHeaders = strings.Split(signed, ";")
	if signed == "" || sig.signature == "" {
		return sig, true, "signed headers or signature missing"
	}
	return sig, true, ""
}

// verify checks the signature of r against bucket b: signed tells whether it carries one
// (and it is valid), a non-zero status is the refusal S3 would answer.
func (s *S3) verify(r *http.Request, b S3Bucket) (signed bool, status int, code, msg string) {
	sig, ok, perr := parseSigV4(r)
	if !ok {
		return false, 0, "", ""
	}
	if perr != "" {
		return true, http.StatusBadRequest, "AuthorizationQueryParametersError", perr
	}
	s.mu.Lock()
	secret, known := s.keys[sig.keyID]
	now := s.now()
	s.mu.Unlock()
	switch {
	case !known:
		return true, http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
	case sig.service != "s3":
		return true, http.StatusBadRequest, "AuthorizationHeaderMalformed", "the service '" + sig.service + "' is wrong; expecting 's3'"
	case sig.region != b.Region:
		return true, http.StatusBadRequest, "AuthorizationHeaderMalformed", "the region '" + sig.region + "' is wrong; expecting '" + b.Region + "'"
	case sig.presigned && now.After(sig.date.Add(sig.expires)):
		return true, http.StatusForbidden, "AccessDenied", "Request has expired"
	case !sig.presigned && (now.Sub(sig.date) > 15*time.Minute || sig.date.Sub(now) > 15*time.Minute):
		return true, http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
	}
	want, err := recompute(r, sig, aws.Credentials{AccessKeyID: sig.keyID, SecretAccessKey: secret, SessionToken: sig.sessionToken})
	if err != nil || !hmac.Equal([]byte(want), []byte(sig.signature)) {
		return true, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
	}
	return true, 0, "", ""
}

// recompute signs a copy of r made of what its signature covers (method, path, query
// without the signature, the signed headers) with the AWS SDK's v4 signer, as S3 does, and
// returns the signature.
func recompute(r *http.Request, sig sigv4, creds aws.Credentials) (string, error) {
	q := r.URL.Query()
	q.Del("X-Amz-Signature")
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
	nr, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), nil)
	if err != nil {
		return "", err
	}
	nr.Host = r.Host
	for _, h := range sig.signedHeaders {
		if h != "host" {
			nr.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if sig.presigned {
		signedURI, _, err := signer.PresignHTTP(context.Background(), creds, nr, sig.payloadHash, sig.service, sig.region, sig.date)
		if err != nil {
			return "", err
		}
		su, err := url.Parse(signedURI)
		if err != nil {
			return "", err
		}
		return su.Query().Get("X-Amz-Signature"), nil
	}
	if err := signer.SignHTTP(context.Background(), creds, nr, sig.payloadHash, sig.service, sig.region, sig.date); err != nil {
		return "", err
	}
	_, sigPart, _ := strings.Cut(nr.Header.Get("Authorization"), "Signature=")
	return sigPart, nil
}

// TestingT is the part of *testing.T that SetAWSTestEnv uses.
type TestingT interface {
	Helper()
	TempDir() string
	Setenv(key, value string)
	Fatal(args ...any)
}

// SetAWSTestEnv writes an AWS config file (default region us-east-1, and a profile
// "stacfs") and a shared credentials file holding credentials ("" for none) into a
// folder of t's, and sets t's environment (t.Setenv) to point the AWS SDK at them alone:
// instance metadata off, no user files, no credentials, profile, region or endpoint
// from the environment. Call it before the SDK runs, in-process or in a child process
// (which inherits the environment).
func SetAWSTestEnv(t TestingT, credentials string) {
	t.Helper()
	dir := t.TempDir()
	cfgFile, credFile := filepath.Join(dir, "aws-config"), filepath.Join(dir, "aws-credentials")
	if err := os.WriteFile(cfgFile, []byte("[default]\nregion = us-east-1\n\n[profile stacfs]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credFile, []byte(credentials), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credFile)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} {
		t.Setenv(k, "")
	}
}
