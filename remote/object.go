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
	setHeader(req)
	return req, nil
}

// Stat describes the object at url with a HEAD request. When HEAD is refused (403 on
// presigned GET-only URLs, 405, 501) it falls back to GET with Range: bytes=0-0 and reads
// the total from Content-Range. Transient failures are retried (Client.RetryBudget, which
// covers the fallback too).
func (c *Client) Stat(ctx context.Context, url string) (Info, error) {
	r := c.newRetrier(ctx, http.MethodHead, url)
	type stat struct {
		info     Info
		fallback bool
	}
	got, err := retryLoop(r, func() (stat, error) {
		req, err := assetRequest(r.ctx, http.MethodHead, url)
		if err != nil {
			return stat{}, err
		}
		resp, err := r.do(req)
		if err != nil {
			return stat{}, err
		}
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode <= 299:
			drainClose(resp.Body)
			return stat{info: infoFrom(resp)}, nil
		case resp.StatusCode == http.StatusForbidden, resp.StatusCode == http.StatusMethodNotAllowed,
			resp.StatusCode == http.StatusNotImplemented:
			drainClose(resp.Body)
			return stat{fallback: true}, nil
		default:
			return stat{}, statusError(resp)
		}
	})
	if err != nil || !got.fallback {
		return got.info, err
	}
	// Stat by a one-byte ranged GET, within the same budget.
	r.method = http.MethodGet
	_, info, err := c.readHead(r, url, 1)
	return info, err
}

// ReadHead reads the first n bytes of the object at url with one ranged GET
// and describes the object from the same answer (size from Content-Range,
// ETag, Last-Modified): size, version and, for a COG, its header in one
// round trip. When the server ignores Range (200), Info.Ranges is false,
// Info.Size is the Content-Length (-1 when absent) and the bytes returned
// are the object's first bytes, at most n. An empty object gives no bytes.
// Transient failures are retried (Client.RetryBudget).
func (c *Client) ReadHead(ctx context.Context, url string, n int) ([]byte, Info, error) {
	return c.readHead(c.newRetrier(ctx, http.MethodGet, url), url, n)
}

// readHead is ReadHead within the budget of r.
func (c *Client) readHead(r *retrier, url string, n int) ([]byte, Info, error) {
	type head struct {
		b    []byte
		info Info
	}
	got, err := retryLoop(r, func() (head, error) {
		b, info, err := c.readHeadOnce(r, url, n)
		return head{b, info}, err
	})
	return got.b, got.info, err
}

// readHeadOnce is one attempt of ReadHead.
func (c *Client) readHeadOnce(r *retrier, url string, n int) ([]byte, Info, error) {
	req, err := assetRequest(r.ctx, http.MethodGet, url)
	if err != nil {
		return nil, Info{}, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", n-1))
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := r.do(req)
	if err != nil {
		return nil, Info{}, err
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		defer drainClose(resp.Body)
		info := infoFrom(resp)
		info.Ranges = true
		start, end, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != 0 {
			return nil, Info{}, fmt.Errorf("GET %s: %w: Content-Range %q for bytes=0-%d", RedactURL(url), ErrBadResponse, resp.Header.Get("Content-Range"), n-1)
		}
		info.Size = total
		want := end - start + 1
		if want > int64(n) {
			return nil, Info{}, fmt.Errorf("GET %s: %w: %d bytes for a %d-byte range", RedactURL(url), ErrBadResponse, want, n)
		}
		buf := make([]byte, want)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			return nil, Info{}, fmt.Errorf("GET %s: body cut short: %w", RedactURL(url), unexpected(err))
		}
		return buf, info, nil
	case http.StatusOK:
		// Range ignored: the whole object follows; keep only its head.
		defer resp.Body.Close()
		info := infoFrom(resp)
		info.Ranges = false
		limit := int64(n)
		if info.Size >= 0 && info.Size < limit {
			limit = info.Size
		}
		buf := make([]byte, limit)
		k, err := io.ReadFull(resp.Body, buf)
		if err != nil && !(info.Size < 0 && err == io.ErrUnexpectedEOF) && !(k == 0 && err == io.EOF) {
			return nil, Info{}, fmt.Errorf("GET %s: body cut short: %w", RedactURL(url), unexpected(err))
		}
		return buf[:k], info, nil
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
		return nil, info, nil
	}
	return nil, Info{}, statusError(resp)
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
//
// Transient failures are retried within Client.RetryBudget; a body cut short or stalled
// is resumed from the last byte received (a ranged GET of the remainder, If-Match the
// expected ETag, or the first response's strong ETag when etag is ""), keeping the bytes
// already in p. A changed object (ErrChanged, 412) and an answer that does not fit the
// request (ErrBadResponse) are not retried. When the retries end, n counts the bytes of
// p that were filled.
func (c *Client) ReadAt(ctx context.Context, url string, p []byte, off int64, etag string) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset %d", RedactURL(url), off)
	}
	if len(p) == 0 {
		return 0, nil
	}
	r := c.newRetrier(ctx, http.MethodGet, url)
	progress := progressOf(ctx)
	n := 0
	short := 0        // complete answers shorter than asked
	size := int64(-1) // the object's size, once an answer tells it
	for n < len(p) {
		var report func(int)
		if progress != nil {
			base := n
			report = func(m int) { progress(base + m) }
		}
		m, eof, seen, err := c.readRange(r, url, p[n:], off+int64(n), etag, &size, report)
		n += m
		if etag == "" && seen != "" {
			etag = seen // later requests, resumes included, must read the same version
		}
		if err != nil {
			if m > 0 {
				r.progress()
			}
			if err := r.retry(err); err != nil {
				return n, err
			}
			continue
		}
		if eof {
			return n, io.EOF
		}
		if n < len(p) {
			if short++; short == maxRangeRounds {
				return n, fmt.Errorf("read %s at %d: server keeps sending short ranges: %w", RedactURL(url), off, ErrBadResponse)
			}
		}
	}
	return n, nil
}

// readRange does one ranged GET for p at off, as an attempt of r. It returns the bytes
// read, whether the object ended within p, and the response ETag. *size is the object's
// size told by earlier answers (-1: none yet): an answer telling another size means the
// object changed (ErrChanged); else readRange records the size it learns.
//
// progress, when not nil, is told how many bytes of p are final as they arrive.
func (c *Client) readRange(r *retrier, url string, p []byte, off int64, etag string, size *int64, progress func(int)) (n int, eof bool, seen string, err error) {
	where := func() string { return fmt.Sprintf("read %s at %d", RedactURL(url), off) }
	req, err := assetRequest(r.ctx, http.MethodGet, url)
	if err != nil {
		return 0, false, "", err
	}
	end := off + int64(len(p)) - 1
	req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(end, 10))
	if StrongETag(etag) {
		req.Header.Set("If-Match", etag)
	}
	resp, err := r.do(req)
	if err != nil {
		return 0, false, "", err
	}
	if resp.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		drainClose(resp.Body)
		if *size > off {
			return 0, false, "", fmt.Errorf("%s: 416 for an object of %d bytes: %w", where(), *size, ErrChanged)
		}
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

	// sized checks the object's size an answer tells against what earlier ones told.
	sized := func(total int64) error {
		if total < 0 {
			return nil
		}
		if *size >= 0 && total != *size {
			return fmt.Errorf("%s: object of %d bytes, was %d: %w", where(), total, *size, ErrChanged)
		}
		*size = total
		return nil
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
		if resp.ContentLength >= 0 && resp.ContentLength != last-first+1 {
			return 0, false, seen, fmt.Errorf("%s: Content-Range %q with Content-Length %d: %w",
				where(), resp.Header.Get("Content-Range"), resp.ContentLength, ErrBadResponse)
		}
		if err := sized(total); err != nil {
			return 0, false, seen, err
		}
		want = min(last-first+1, int64(len(p)))
		// The object ends within p when the total says so. With an unknown total a short
		// range is ambiguous: ReadAt asks again, and 416 ends it.
		objEnd = total >= 0 && first+want >= total
	case http.StatusOK:
		// Range ignored: the body is the whole object.
		if err := sized(resp.ContentLength); err != nil {
			return 0, false, seen, err
		}
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
			m, err := fill(bodyReader(r.ctx, resp.Body), p)
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

	m, err := readFullProgress(bodyReader(r.ctx, resp.Body), p[:want], progress)
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
// identity), so the bytes are the object's. The request is retried (Client.RetryBudget)
// until the response headers arrive; a failure of the body afterwards (an error, or a
// Read waiting StallTimeout without a byte) is the caller's to handle by opening again.
// The body holds one of its origin's slots (Client.MaxPerOrigin) until closed.
func (c *Client) Open(ctx context.Context, url string) (io.ReadCloser, Info, error) {
	r := c.newRetrier(ctx, http.MethodGet, url)
	resp, err := retryLoop(r, func() (*http.Response, error) {
		req, err := assetRequest(r.ctx, http.MethodGet, url)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := r.do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, statusError(resp)
		}
		return resp, nil
	})
	if err != nil {
		return nil, Info{}, err
	}
	return resp.Body, infoFrom(resp), nil
}
