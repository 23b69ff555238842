package remote

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aws/smithy-go/encoding/httpbinding"
)

// DefaultGSEndpoint serves public Google Cloud Storage objects: gs://bucket/key is read
// from DefaultGSEndpoint/bucket/key.
const DefaultGSEndpoint = "https://storage.googleapis.com"

// ObjectReader reads the object at an http(s) URL: *Client, *SignedReader.
type ObjectReader interface {
	Stat(ctx context.Context, url string) (Info, error)
	ReadHead(ctx context.Context, url string, n int) ([]byte, Info, error)
	ReadAt(ctx context.Context, url string, p []byte, off int64, etag string) (int, error)
	Open(ctx context.Context, url string) (io.ReadCloser, Info, error)
}

// Objects reads asset objects whatever the scheme of their URL: http(s) with HTTP (the
// catalog's Client, with its token scope, or a SignedReader over it), s3:// with S3, gs://
// anonymously over https with Public. It is what a catalog reads assets through (ReadAt,
// ReadHead, Open, Stat), and it chooses which of an asset's hrefs to read (Href).
type Objects struct {
	HTTP ObjectReader
	// S3 reads s3:// URLs; nil: they are not readable.
	S3 *S3
	// Public reads gs:// URLs (never a token): NewObjects gives a copy of HTTP without Auth.
	Public *Client
	// GSEndpoint replaces DefaultGSEndpoint (tests).
	GSEndpoint string
	// Prefer orders the URL schemes Href chooses from ("https" stands for http too), e.g.
	// ["s3", "https"]. Empty: the asset's own href when it is readable.
	Prefer []string
}

// NewObjects returns the Objects reading http(s) with rd (nil: c), s3:// with s3 (nil: not
// readable) and gs:// with c's settings but no Auth.
func NewObjects(c *Client, rd ObjectReader, s3 *S3, prefer []string) *Objects {
	if rd == nil {
		rd = c
	}
	return &Objects{HTTP: rd, S3: s3, Public: c.withoutAuth(), Prefer: prefer}
}

// scheme returns the lower-case scheme of a URL, "https" for "http".
func scheme(u string) string {
	s, _, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	s = strings.ToLower(s)
	if s == "http" {
		return "https"
	}
	return s
}

// Readable reports whether o can read the URL u.
func (o *Objects) Readable(u string) bool {
	switch scheme(u) {
	case "https":
		return len(u) > len("http://")
	case "s3":
		_, _, err := ParseS3URL(u)
		return o.S3 != nil && err == nil
	case "gs":
		_, err := o.gsURL(u)
		return err == nil
	}
	return false
}

// Href chooses the URL an asset's bytes are read from. Its candidates are the asset's own
// href, then its alternates (alternate-assets extension): "download" first, then by name.
// With Prefer set, the first readable candidate of the first preferred scheme that has
// one wins; otherwise (or when no preferred scheme has one) the first readable candidate.
// It returns false when no candidate is readable.
func (o *Objects) Href(a *Asset) (string, bool) {
	cands := make([]string, 0, 1+len(a.Alternates))
	cands = append(cands, a.Href)
	if h, ok := a.Alternates["download"]; ok {
		cands = append(cands, h)
	}
	names := make([]string, 0, len(a.Alternates))
	for k := range a.Alternates {
		if k != "download" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		cands = append(cands, a.Alternates[k])
	}
	for _, want := range o.Prefer {
		want = strings.ToLower(want)
		if want == "http" {
			want = "https"
		}
		for _, c := range cands {
			if scheme(c) == want && o.Readable(c) {
				return c, true
			}
		}
	}
	for _, c := range cands {
		if o.Readable(c) {
			return c, true
		}
	}
	return "", false
}

// gsURL turns gs://bucket/key into its public https URL.
func (o *Objects) gsURL(u string) (string, error) {
	rest, _ := strings.CutPrefix(u, "gs://")
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" || key == "" || scheme(u) != "gs" {
		return "", fmt.Errorf("%s: want gs://bucket/key", RedactURL(u))
	}
	base := o.GSEndpoint
	if base == "" {
		base = DefaultGSEndpoint
	}
	return strings.TrimSuffix(base, "/") + "/" + httpbinding.EscapePath(bucket, false) + "/" + httpbinding.EscapePath(key, false), nil
}

// route returns the reader of u: its reader and the http(s) URL to give it, or S3.
func (o *Objects) route(u string) (ObjectReader, string, *S3, error) {
	switch scheme(u) {
	case "s3":
		if o.S3 == nil {
			return nil, "", nil, fmt.Errorf("%s: s3:// URLs are not read for this catalog", RedactURL(u))
		}
		return nil, "", o.S3, nil
	case "gs":
		g, err := o.gsURL(u)
		return o.Public, g, nil, err
	}
	return o.HTTP, u, nil, nil
}

// ReadAt is Client.ReadAt for any URL Objects reads.
func (o *Objects) ReadAt(ctx context.Context, u string, p []byte, off int64, etag string) (int, error) {
	c, hu, s3r, err := o.route(u)
	switch {
	case err != nil:
		return 0, err
	case s3r != nil:
		return s3r.ReadAt(ctx, u, p, off, etag)
	}
	return c.ReadAt(ctx, hu, p, off, etag)
}

// ReadHead is Client.ReadHead for any URL Objects reads.
func (o *Objects) ReadHead(ctx context.Context, u string, n int) ([]byte, Info, error) {
	c, hu, s3r, err := o.route(u)
	switch {
	case err != nil:
		return nil, Info{}, err
	case s3r != nil:
		return s3r.ReadHead(ctx, u, n)
	}
	return c.ReadHead(ctx, hu, n)
}

// Open is Client.Open for any URL Objects reads.
func (o *Objects) Open(ctx context.Context, u string) (io.ReadCloser, Info, error) {
	c, hu, s3r, err := o.route(u)
	switch {
	case err != nil:
		return nil, Info{}, err
	case s3r != nil:
		return s3r.Open(ctx, u)
	}
	return c.Open(ctx, hu)
}

// Stat is Client.Stat for any URL Objects reads.
func (o *Objects) Stat(ctx context.Context, u string) (Info, error) {
	c, hu, s3r, err := o.route(u)
	switch {
	case err != nil:
		return Info{}, err
	case s3r != nil:
		return s3r.Stat(ctx, u)
	}
	return c.Stat(ctx, hu)
}
