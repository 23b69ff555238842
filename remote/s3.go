package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sync/singleflight"
)

// S3Config says how s3:// URLs are read. The zero value reads like the AWS CLI: the
// default credential chain (environment, shared files and profile, SSO, instance
// metadata), unsigned requests when it finds no credentials, AWS's endpoints, and each
// bucket in its own region.
//
// Providers with an S3-compatible store set Endpoint, Region and the static keys (CDSE:
// Endpoint "https://eodata.dataspace.copernicus.eu", Region "default").
type S3Config struct {
	// Region signs every request. "" -> the bucket's own region, from the
	// X-Amz-Bucket-Region header of an unsigned HEAD of the bucket (cached per bucket),
	// else the profile's region, else us-east-1.
	Region string
	// Endpoint replaces AWS's endpoints (scheme://host[:port] of an S3-compatible store);
	// requests are then path-style (Endpoint/bucket/key).
	Endpoint string
	// Profile is the shared config profile to use ("" -> $AWS_PROFILE, else default).
	Profile string
	// AccessKeyID and SecretAccessKey (with SessionToken, optional) are static keys that
	// replace the default chain. They never appear in errors or logs.
	AccessKeyID, SecretAccessKey, SessionToken string
	// Anonymous sends unsigned requests even when credentials exist.
	Anonymous bool
	// RequesterPays signs x-amz-request-payer: requester into every request: the
	// credentials' account pays for the transfer (requester-pays buckets answer 403
	// without it). It needs credentials.
	RequesterPays bool
}

// Presigned requests stay valid for presignExpiry and are reused for presignReuse (so
// at least 10 minutes remain for an operation and its retries): presigning costs a few
// hundred microseconds of CPU, a block read would pay it each time. At most presignCached
// objects' requests are kept.
const (
	presignExpiry = 15 * time.Minute
	presignReuse  = 5 * time.Minute
	presignCached = 4096
)

// presigned is a request kept for reuse.
type presigned struct {
	url    string
	header http.Header
	until  time.Time
}

// S3 reads s3://bucket/key objects. Each operation gets a GET presigned by the AWS SDK
// (service/s3; or, unsigned, at the URL the SDK's endpoint rules give; kept for reuse a few
// minutes, dropped when refused) and runs it through a Client: ranged reads, If-Match, retries, the stall watchdog, the per-origin limit,
// typed errors and metrics are those of https. The presigned query holds the signature
// and the access key id; errors and logs show URLs without their query (RedactURL).
//
// Its methods have the Client's signatures with s3:// URLs: ReadAt, ReadHead, Open, Stat.
type S3 struct {
	cfg S3Config
	c   *Client
	log *slog.Logger

	setup func() (*s3Setup, error) // loads the SDK config once

	mu      sync.Mutex
	regions map[string]string                 // bucket -> region, guarded by mu
	signed  *simplelru.LRU[string, presigned] // s3 URL -> request, guarded by mu
	lookups singleflight.Group
	now     func() time.Time
}

// s3Setup is what the SDK's configuration gives.
type s3Setup struct {
	presign       *s3.PresignClient // nil when anonymous
	resolver      s3.EndpointResolverV2
	anonymous     bool
	defaultRegion string
}

// NewS3 returns a reader of s3:// URLs whose requests go through a Client with c's
// settings (HTTP client, retries, limits, logger, observer) but never c's Auth: a
// catalog's bearer token does not go to S3. The SDK configuration (files, credentials) is
// read at the first read.
func NewS3(cfg S3Config, c *Client) *S3 {
	signed, _ := simplelru.NewLRU[string, presigned](presignCached, nil)
	s := &S3{cfg: cfg, c: c.withoutAuth(), regions: map[string]string{}, signed: signed, now: time.Now}
	s.log = s.c.logger()
	if s.log == nil {
		s.log = slog.Default()
	}
	s.setup = sync.OnceValues(s.load)
	return s
}

// withoutAuth returns a Client with c's settings but no Auth and no STAC headers.
func (c *Client) withoutAuth() *Client {
	if c == nil {
		return &Client{}
	}
	return &Client{HTTP: c.HTTP, UserAgent: c.UserAgent, Logger: c.Logger, RetryBudget: c.RetryBudget,
		StallTimeout: c.StallTimeout, MaxPerOrigin: c.MaxPerOrigin, Observer: c.Observer, retryBase: c.retryBase}
}

// s3LoadTimeout bounds reading the SDK configuration and finding credentials (instance
// metadata, SSO).
const s3LoadTimeout = 30 * time.Second

// load reads the SDK configuration and decides between signed and unsigned requests.
func (s *S3) load() (*s3Setup, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s3LoadTimeout)
	defer cancel()
	var opts []func(*config.LoadOptions) error
	if s.cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.cfg.Profile))
	}
	switch {
	case s.cfg.Anonymous:
		opts = append(opts, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	case s.cfg.AccessKeyID != "":
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(s.cfg.AccessKeyID, s.cfg.SecretAccessKey, s.cfg.SessionToken)))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: AWS configuration: %w", s.scrub(err))
	}
	st := &s3Setup{resolver: s3.NewDefaultEndpointResolverV2(), anonymous: s.cfg.Anonymous, defaultRegion: ac.Region}
	if st.defaultRegion == "" {
		st.defaultRegion = "us-east-1"
	}
	if !st.anonymous && s.cfg.AccessKeyID == "" && s.cfg.Profile == "" {
		// The default chain: no credentials anywhere means public buckets, unsigned.
		if _, err := ac.Credentials.Retrieve(ctx); err != nil {
			if s.cfg.RequesterPays {
				return nil, fmt.Errorf("s3: requester pays needs AWS credentials (environment, shared files, SSO or instance role); none found: %w", ErrDenied)
			}
			s.log.Info("no AWS credentials found: s3:// objects are read with unsigned requests", "reason", s.scrub(err).Error())
			st.anonymous = true
		}
	}
	if st.anonymous {
		if s.cfg.RequesterPays {
			return nil, fmt.Errorf("s3: requester pays needs signed requests, but anonymous is set: %w", ErrDenied)
		}
		return st, nil
	}
	client := s3.NewFromConfig(ac, func(o *s3.Options) {
		if s.cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.cfg.Endpoint)
			o.UsePathStyle = true
		}
	})
	st.presign = s3.NewPresignClient(client, func(o *s3.PresignOptions) { o.Expires = presignExpiry })
	return st, nil
}

// ParseS3URL splits s3://bucket/key. The key keeps its slashes; it may not be empty.
func ParseS3URL(raw string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(raw, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%s: not an s3:// URL", RedactURL(raw))
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" || key == "" {
		return "", "", fmt.Errorf("%s: want s3://bucket/key", RedactURL(raw))
	}
	return bucket, key, nil
}

// Request returns the https URL and the headers of a GET of the object at s3url: presigned
// by the SDK (valid for at least ten more minutes), or unsigned when reading anonymously.
// Providers use it to hand a read to other tools; the URL is a secret while it is valid.
func (s *S3) Request(ctx context.Context, s3url string) (string, http.Header, error) {
	s.mu.Lock()
	p, ok := s.signed.Get(s3url)
	s.mu.Unlock()
	if ok && s.now().Before(p.until) {
		return p.url, p.header, nil
	}
	u, h, err := s.request(ctx, s3url)
	if err != nil {
		return "", nil, err
	}
	s.mu.Lock()
	s.signed.Add(s3url, presigned{url: u, header: h, until: s.now().Add(presignReuse)})
	s.mu.Unlock()
	return u, h, nil
}

// forget drops the kept request of s3url after err refused it (credentials changed).
func (s *S3) forget(s3url string, err error) {
	if errors.Is(err, ErrDenied) {
		s.mu.Lock()
		s.signed.Remove(s3url)
		s.mu.Unlock()
	}
}

// request makes the request Request returns.
func (s *S3) request(ctx context.Context, s3url string) (string, http.Header, error) {
	bucket, key, err := ParseS3URL(s3url)
	if err != nil {
		return "", nil, err
	}
	st, err := s.setup()
	if err != nil {
		return "", nil, err
	}
	region, err := s.bucketRegion(ctx, st, bucket)
	if err != nil {
		return "", nil, err
	}
	if st.anonymous {
		base, err := s.bucketURL(ctx, st, bucket, region)
		if err != nil {
			return "", nil, err
		}
		return base + "/" + httpbinding.EscapePath(key, false), nil, nil
	}
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if s.cfg.RequesterPays {
		in.RequestPayer = types.RequestPayerRequester
	}
	req, err := st.presign.PresignGetObject(ctx, in, func(o *s3.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, func(o *s3.Options) { o.Region = region })
	})
	if err != nil {
		// Almost always the credentials (expired SSO session, refused role).
		return "", nil, fmt.Errorf("%s: sign request: %w: %w", RedactURL(s3url), ErrDenied, s.scrub(err))
	}
	h := http.Header{}
	for k, vs := range req.SignedHeader {
		if !strings.EqualFold(k, "Host") {
			h[k] = vs
		}
	}
	return req.URL, h, nil
}

// bucketURL is the base URL of bucket's objects (no trailing slash) by the SDK's endpoint
// rules: virtual-hosted on AWS, path-style under Endpoint.
func (s *S3) bucketURL(ctx context.Context, st *s3Setup, bucket, region string) (string, error) {
	p := s3.EndpointParameters{Bucket: aws.String(bucket), Region: aws.String(region)}
	if s.cfg.Endpoint != "" {
		p.Endpoint = aws.String(s.cfg.Endpoint)
		p.ForcePathStyle = aws.Bool(true)
	}
	ep, err := st.resolver.ResolveEndpoint(ctx, p)
	if err != nil {
		return "", fmt.Errorf("s3://%s: endpoint: %w", bucket, err)
	}
	return strings.TrimSuffix(ep.URI.String(), "/"), nil
}

// bucketRegion returns the region requests for bucket are signed for: S3Config.Region, else
// the bucket's own, looked up once (concurrent callers share the lookup).
func (s *S3) bucketRegion(ctx context.Context, st *s3Setup, bucket string) (string, error) {
	if s.cfg.Region != "" {
		return s.cfg.Region, nil
	}
	peek := func() (string, bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		r, ok := s.regions[bucket]
		return r, ok
	}
	return shared(ctx, &s.lookups, bucket, peek, func(ctx context.Context) (string, error) {
		r, err := s.lookupRegion(ctx, st, bucket)
		if err != nil {
			return "", err
		}
		s.mu.Lock()
		s.regions[bucket] = r
		s.mu.Unlock()
		return r, nil
	})
}

// lookupRegion asks S3 where bucket lives: an unsigned HEAD of the bucket, whose answer
// (200, 301 from another region's endpoint, 403 for a private bucket) carries
// X-Amz-Bucket-Region. A store that sends none gets the default region.
func (s *S3) lookupRegion(ctx context.Context, st *s3Setup, bucket string) (string, error) {
	u, err := s.bucketURL(ctx, st, bucket, st.defaultRegion)
	if err != nil {
		return "", err
	}
	r := s.c.newRetrier(ctx, http.MethodHead, u)
	resp, err := retryLoop(r, func() (*http.Response, error) {
		req, err := assetRequest(r.ctx, http.MethodHead, u)
		if err != nil {
			return nil, err
		}
		resp, err := r.do(req)
		if err != nil {
			return nil, err
		}
		if resp.Header.Get("X-Amz-Bucket-Region") == "" && resp.StatusCode >= 400 {
			return nil, statusError(resp)
		}
		drainClose(resp.Body)
		return resp, nil
	})
	if errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("s3://%s: no such bucket: %w", bucket, err)
	}
	if err != nil && !errors.Is(err, ErrDenied) {
		return "", fmt.Errorf("s3://%s: find the bucket's region: %w", bucket, err)
	}
	region := ""
	if resp != nil {
		region = resp.Header.Get("X-Amz-Bucket-Region")
	}
	if region == "" {
		s.log.Debug("s3: the store names no region for the bucket; using the default", "bucket", bucket, "region", st.defaultRegion)
		return st.defaultRegion, nil
	}
	s.log.Debug("s3: bucket region", "bucket", bucket, "region", region)
	return region, nil
}

// scrub removes the configured secrets from an SDK error's text, keeping the error for
// errors.Is/As.
func (s *S3) scrub(err error) error {
	msg := err.Error()
	clean := msg
	for _, secret := range []string{s.cfg.SecretAccessKey, s.cfg.SessionToken} {
		if len(secret) >= 4 {
			clean = strings.ReplaceAll(clean, secret, "[redacted]")
		}
	}
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

// ReadAt is Client.ReadAt for an s3:// URL.
func (s *S3) ReadAt(ctx context.Context, s3url string, p []byte, off int64, etag string) (int, error) {
	u, h, err := s.Request(ctx, s3url)
	if err != nil {
		return 0, err
	}
	n, err := s.c.ReadAt(withHeader(ctx, h), u, p, off, etag)
	s.forget(s3url, err)
	return n, err
}

// ReadHead is Client.ReadHead for an s3:// URL.
func (s *S3) ReadHead(ctx context.Context, s3url string, n int) ([]byte, Info, error) {
	u, h, err := s.Request(ctx, s3url)
	if err != nil {
		return nil, Info{}, err
	}
	b, info, err := s.c.ReadHead(withHeader(ctx, h), u, n)
	s.forget(s3url, err)
	return b, info, err
}

// Open is Client.Open for an s3:// URL.
func (s *S3) Open(ctx context.Context, s3url string) (io.ReadCloser, Info, error) {
	u, h, err := s.Request(ctx, s3url)
	if err != nil {
		return nil, Info{}, err
	}
	rc, info, err := s.c.Open(withHeader(ctx, h), u)
	s.forget(s3url, err)
	return rc, info, err
}

// Stat describes the object at an s3:// URL with a one-byte ranged GET (a presigned GET
// cannot be sent as HEAD).
func (s *S3) Stat(ctx context.Context, s3url string) (Info, error) {
	_, info, err := s.ReadHead(ctx, s3url, 1)
	return info, err
}

// headerKey carries extra request headers (signed ones) to the requests of an operation.
type headerKey struct{}

// withHeader returns ctx carrying h for the asset requests made with it (nil or empty h:
// ctx itself).
func withHeader(ctx context.Context, h http.Header) context.Context {
	if len(h) == 0 {
		return ctx
	}
	return context.WithValue(ctx, headerKey{}, h)
}

// setHeader puts the headers of withHeader on req.
func setHeader(req *http.Request) {
	h, _ := req.Context().Value(headerKey{}).(http.Header)
	for k, vs := range h {
		req.Header[k] = append([]string(nil), vs...)
	}
}
