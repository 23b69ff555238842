package remote

import (
	"context"
	"errors"
	"io"
)

// Signer turns an asset's href into the URL its bytes are requested from (a SAS-signed
// Azure URL, the presigned URL a download host redirects to) and hears when that URL was
// refused. Hrefs it does not handle come back unchanged. Signed URLs are secrets: they
// never appear in errors or logs (RedactURL), nor in cache keys (UnsignedURL).
type Signer interface {
	// Sign returns the URL to request for href.
	Sign(ctx context.Context, href string) (string, error)
	// Refused tells that signed, given by Sign for href, was refused (401/403): the next
	// Sign must not give it again.
	Refused(href, signed string)
}

// SignedReader reads assets through Client at the URLs Signer gives: each read signs the
// href (a cached signature: no request per read), and a read refused with ErrDenied at a
// signed URL is signed again and tried once more, going on from the bytes already read.
// With a nil Signer it reads hrefs as they are. It has the methods of Client that read
// objects (Stat, ReadHead, ReadAt, Open).
type SignedReader struct {
	Client *Client
	Signer Signer
}

// sign returns the URL to request for href.
func (r *SignedReader) sign(ctx context.Context, href string) (string, error) {
	if r.Signer == nil {
		return href, nil
	}
	return r.Signer.Sign(ctx, href)
}

// again reports whether err refused a signed URL, and if so tells the Signer and returns a
// new signed URL to try once more.
func (r *SignedReader) again(ctx context.Context, href, signed string, err error) (string, bool) {
	if r.Signer == nil || signed == href || !errors.Is(err, ErrDenied) {
		return "", false
	}
	r.Signer.Refused(href, signed)
	next, serr := r.Signer.Sign(ctx, href)
	if serr != nil || next == signed {
		return "", false
	}
	return next, true
}

// withSigned runs op at href's signed URL, and once more at a new one when it was refused.
func withSigned[T any](ctx context.Context, r *SignedReader, href string, op func(u string) (T, error)) (T, error) {
	u, err := r.sign(ctx, href)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := op(u)
	if next, ok := r.again(ctx, href, u, err); ok {
		return op(next)
	}
	return v, err
}

// Stat is Client.Stat at the signed URL.
func (r *SignedReader) Stat(ctx context.Context, href string) (Info, error) {
	return withSigned(ctx, r, href, func(u string) (Info, error) { return r.Client.Stat(ctx, u) })
}

// ReadHead is Client.ReadHead at the signed URL.
func (r *SignedReader) ReadHead(ctx context.Context, href string, n int) ([]byte, Info, error) {
	type head struct {
		b    []byte
		info Info
	}
	h, err := withSigned(ctx, r, href, func(u string) (head, error) {
		b, info, err := r.Client.ReadHead(ctx, u, n)
		return head{b, info}, err
	})
	return h.b, h.info, err
}

// ReadAt is Client.ReadAt at the signed URL. After a refusal it goes on from the bytes
// already read.
func (r *SignedReader) ReadAt(ctx context.Context, href string, p []byte, off int64, etag string) (int, error) {
	u, err := r.sign(ctx, href)
	if err != nil {
		return 0, err
	}
	n, err := r.Client.ReadAt(ctx, u, p, off, etag)
	next, ok := r.again(ctx, href, u, err)
	if !ok {
		return n, err
	}
	rctx := ctx
	if progress := progressOf(ctx); progress != nil && n > 0 {
		base := n
		rctx = WithProgress(ctx, func(m int) { progress(base + m) })
	}
	m, err := r.Client.ReadAt(rctx, next, p[n:], off+int64(n), etag)
	return n + m, err
}

// Open is Client.Open at the signed URL.
func (r *SignedReader) Open(ctx context.Context, href string) (io.ReadCloser, Info, error) {
	type stream struct {
		rc   io.ReadCloser
		info Info
	}
	s, err := withSigned(ctx, r, href, func(u string) (stream, error) {
		rc, info, err := r.Client.Open(ctx, u)
		return stream{rc, info}, err
	})
	return s.rc, s.info, err
}
