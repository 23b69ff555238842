package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRangeRounds bounds the requests one ReadAt makes when a server answers with shorter
// ranges than asked.
const maxRangeRounds = 64

// Info describes a remote object.
type Info struct {
	Size         int64  // -1 when unknown
	ETag         string // as sent by the server (may be weak W/"..")
	LastModified time.Time
	Ranges       bool // server honours Range
}

// Version returns a string that changes when the object changes: the strong or weak ETag,
// else "lm:" LastModified unix-nano ":" size.
func (i Info) Version() string {
	if i.ETag != "" {
		return i.ETag
	}
	var lm int64
	if !i.LastModified.IsZero() {
		lm = i.LastModified.UnixNano()
	}
	return "lm:" + strconv.FormatInt(lm, 10) + ":" + strconv.FormatInt(i.Size, 10)
}

// StrongETag reports whether etag is a non-empty strong entity tag (not W/"..."), the only
// kind If-Match accepts for ranged reads.
func StrongETag(etag string) bool {
	return etag != "" && !strings.HasPrefix(etag, "W/")
}

// sameETag compares two entity tags with the weak comparison of RFC 9110 (the opaque
// tags must match, W/ prefixes ignored).
func sameETag(a, b string) bool {
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}

func infoFrom(resp *http.Response) Info {
	i := Info{
		Size:   resp.ContentLength,
		ETag:   resp.Header.Get("ETag"),
		Ranges: strings.Contains(strings.ToLower(resp.Header.Get("Accept-Ranges")), "bytes"),
	}
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			i.LastModified = t.UTC()
		}
	}
	return i
}

// assetRequest builds a request for an asset: no STAC headers (Client.Header is for the
// API only).
func assetRequest(ctx context.Context, method, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, RedactURL(url), redactErr(err))
	}
	return req, nil
}

// Stat describes the object at url with a HEAD request. When HEAD is refused (403 on
// presigned GET-only URLs, 405, 501) it falls back to GET with Range: bytes=0-0 and reads
// the total from Content-Range.
func (c *Client) Stat(ctx context.Context, url string) (Info, error) {
	req, err := assetRequest(ctx, http.MethodHead, url)
	if err != nil {
		return Info{}, err
	}
	resp, err := c.do(req)
	if err != nil {
		return Info{}, err
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		drainClose(resp.Body)
		return infoFrom(resp), nil
	case resp.StatusCode == http.StatusForbidden, resp.StatusCode == http.StatusMethodNotAllowed,
		resp.StatusCode == http.StatusNotImplemented:
		drainClose(resp.Body)
		return c.statByGet(ctx, url)
	default:
		return Info{}, statusError(resp)
	}
}

// statByGet is Stat by a one-byte ranged GET.
func (c *Client) statByGet(ctx context.Context, url string) (Info, error) {
	req, err := assetRequest(ctx, http.MethodGet, url)
	if err != nil {
		return Info{}, err
	}
	req.Header.Set("Range", "bytes=0-0")
	resp, err := c.do(req)
	if err != nil {
		return Info{}, err
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		defer drainClose(resp.Body)
		info := infoFrom(resp)
		info.Ranges = true
		_, _, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return Info{}, fmt.Errorf("stat %s: %w", RedactURL(url), err)
		}
		info.Size = total
		return info, nil
	case http.StatusOK:
		// Range ignored: the whole object follows. Do not read it.
		_ = resp.Body.Close()
		info := infoFrom(resp)
		info.Ranges = false
		return info, nil
	case http.StatusRequestedRangeNotSatisfiable:
		// Even byte 0 is out of range: an empty object ("bytes */0").
		defer drainClose(resp.Body)
		info := infoFrom(resp)
		info.Ranges = true
		info.Size = 0
		if cr := resp.Header.Get("Content-Range"); strings.HasPrefix(cr, "bytes */") {
			if n, err := strconv.ParseInt(strings.TrimPrefix(cr, "bytes */"), 10, 64); err == nil && n >= 0 {
				info.Size = n
			}
		}
		return info, nil
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		_ = resp.Body.Close()
		return Info{}, fmt.Errorf("stat %s: unexpected status %d: %w", RedactURL(url), resp.StatusCode, ErrBadResponse)
	}
	return Info{}, statusError(resp)
}

// parseContentRange parses "bytes first-last/total" (total may be "*": -1).
func parseContentRange(s string) (first, last, total int64, err error) {
	bad := fmt.Errorf("invalid Content-Range %q: %w", s, ErrBadResponse)
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !ok {
		return 0, 0, 0, bad
	}
	rng, tot, ok := strings.Cut(strings.TrimSpace(rest), "/")
	if !ok {
		return 0, 0, 0, bad
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, bad
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, 0, bad
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || t <= last {
			return 0, 0, 0, bad
		}
		total = t
	}
	return first, last, total, nil
}

// ReadAt fills p from offset off of the object at url. It sends
// Range: bytes=off-(off+len(p)-1) (If-Match: etag when etag is a strong ETag, non-empty).
// 206: checks that Content-Range starts at off (else ErrBadResponse); when the server sends
// a shorter range than asked and the object goes on, ReadAt asks for the rest. 200 (server
// ignored Range): discards off bytes and reads on. 416 -> (0, io.EOF). Returns n == len(p)
// and nil, or n < len(p) and io.EOF when the object ends first. A body cut short before
// the expected length -> io.ErrUnexpectedEOF wrapped. If the response ETag is present and
// differs from a non-empty etag -> ErrChanged.
func (c *Client) ReadAt(ctx context.Context, url string, p []byte, off int64, etag string) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset %d", RedactURL(url), off)
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	for round := 0; n < len(p); round++ {
		if round == maxRangeRounds {
			return n, fmt.Errorf("read %s at %d: server keeps sending short ranges: %w", RedactURL(url), off, ErrBadResponse)
		}
		m, eof, seen, err := c.readRange(ctx, url, p[n:], off+int64(n), etag)
		n += m
		if err != nil {
			return n, err
		}
		if eof {
			return n, io.EOF
		}
		if etag == "" {
			etag = seen // later rounds must read the same version
		}
	}
	return n, nil
}

// readRange does one ranged GET for p at off. It returns the bytes read, whether the
// object ended within p, and the response ETag.
func (c *Client) readRange(ctx context.Context, url string, p []byte, off int64, etag string) (n int, eof bool, seen string, err error) {
	where := func() string { return fmt.Sprintf("read %s at %d", RedactURL(url), off) }
	req, err := assetRequest(ctx, http.MethodGet, url)
	if err != nil {
		return 0, false, "", err
	}
	end := off + int64(len(p)) - 1
	req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(end, 10))
	if StrongETag(etag) {
		req.Header.Set("If-Match", etag)
	}
	resp, err := c.do(req)
	if err != nil {
		return 0, false, "", err
	}
	if resp.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		drainClose(resp.Body)
		return 0, true, "", nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, false, "", statusError(resp)
	}
	defer drainClose(resp.Body)
	seen = resp.Header.Get("ETag")
	if etag != "" && seen != "" && !sameETag(etag, seen) {
		return 0, false, seen, fmt.Errorf("%s: etag %s, expected %s: %w", where(), seen, etag, ErrChanged)
	}

	// want is how many bytes this response should deliver into p; objEnd tells whether the
	// object ends after them.
	var want int64
	var objEnd bool
	switch resp.StatusCode {
	case http.StatusPartialContent:
		first, last, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return 0, false, seen, fmt.Errorf("%s: %w", where(), err)
		}
		if first != off {
			return 0, false, seen, fmt.Errorf("%s: Content-Range %q does not start at %d: %w",
				where(), resp.Header.Get("Content-Range"), off, ErrBadResponse)
		}
		want = min(last-first+1, int64(len(p)))
		// The object ends within p when the total says so. With an unknown total a short
		// range is ambiguous: ReadAt asks again, and 416 ends it.
		objEnd = total >= 0 && first+want >= total
	case http.StatusOK:
		// Range ignored: the body is the whole object.
		if off > 0 {
			skipped, err := io.CopyN(io.Discard, resp.Body, off)
			if err == io.EOF && (resp.ContentLength < 0 || skipped == resp.ContentLength) {
				return 0, true, seen, nil
			}
			if err != nil {
				return 0, false, seen, fmt.Errorf("%s: skip to offset: %w", where(), unexpected(err))
			}
		}
		if resp.ContentLength >= 0 {
			want = min(resp.ContentLength-off, int64(len(p)))
			if want <= 0 {
				return 0, true, seen, nil
			}
			objEnd = off+want >= resp.ContentLength
		} else {
			// Unknown length: read until p is full or the body ends cleanly.
			m, err := fill(resp.Body, p)
			if err == io.EOF {
				return m, true, seen, nil
			}
			if err != nil {
				return m, false, seen, fmt.Errorf("%s: %w", where(), unexpected(err))
			}
			return m, false, seen, nil
		}
	default:
		return 0, false, seen, fmt.Errorf("%s: unexpected status %d: %w", where(), resp.StatusCode, ErrBadResponse)
	}

	m, err := io.ReadFull(resp.Body, p[:want])
	if err != nil {
		return m, false, seen, fmt.Errorf("%s: got %d of %d bytes: %w", where(), m, want, unexpected(err))
	}
	return m, objEnd && m < len(p), seen, nil
}

// fill reads into p until it is full (nil), the reader ends cleanly (io.EOF, even after
// some bytes), or fails (that error).
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			if n == len(p) && err == io.EOF {
				return n, nil
			}
			return n, err
		}
	}
	return n, nil
}

// unexpected turns a premature io.EOF into io.ErrUnexpectedEOF and redacts URLs.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return redactErr(err)
}

// Open streams the whole object (GET without Range): used for objects with no length and no
// Range. The caller closes the body. Content codings are refused (Accept-Encoding:
// identity), so the bytes are the object's.
func (c *Client) Open(ctx context.Context, url string) (io.ReadCloser, Info, error) {
	req, err := assetRequest(ctx, http.MethodGet, url)
	if err != nil {
		return nil, Info{}, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.do(req)
	if err != nil {
		return nil, Info{}, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, Info{}, statusError(resp)
	}
	return resp.Body, infoFrom(resp), nil
}
