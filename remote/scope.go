package remote

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Scope decides which URLs receive a catalog's token: the catalog's own origin and the
// origins listed for it (a leading "*." matches every subdomain), over https (or http when
// the catalog itself is http), and never a URL that already carries a signature of its
// own (Presigned).
type Scope struct {
	origins   map[origin]bool
	wild      []origin // host is the suffix after "*."
	allowHTTP bool
}

// origin is a normalised scheme://host:port.
type origin struct {
	scheme, host, port string
}

func (o origin) String() string { return o.scheme + "://" + o.host + ":" + o.port }

// originOf normalises u's origin: lower-case scheme and host, default port 80 or 443.
func originOf(u *url.URL) (origin, bool) {
	if u == nil {
		return origin{}, false
	}
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), port: u.Port()}
	if o.host == "" {
		return origin{}, false
	}
	if o.port == "" {
		switch o.scheme {
		case "https":
			o.port = "443"
		case "http":
			o.port = "80"
		default:
			return origin{}, false
		}
	}
	return o, o.scheme == "https" || o.scheme == "http"
}

// NewScope returns the scope of a catalog at catalogURL, widened to hosts. A host is
// "host" (https, port 443), "host:port" (https) or a full "https://host:port" URL; an
// http URL is accepted only when the catalog itself is http. A host written "*.domain"
// matches every name under domain (a.domain, b.a.domain), not domain itself.
func NewScope(catalogURL string, hosts []string) (*Scope, error) {
	cu, err := url.Parse(catalogURL)
	if err != nil {
		return nil, fmt.Errorf("scope: catalog URL %q: %w", RedactURL(catalogURL), redactErr(err))
	}
	co, ok := originOf(cu)
	if !ok {
		return nil, fmt.Errorf("scope: catalog URL %q is not an absolute http(s) URL", RedactURL(catalogURL))
	}
	s := &Scope{origins: map[origin]bool{co: true}, allowHTTP: co.scheme == "http"}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		raw, wild := h, false
		if rest, ok := strings.CutPrefix(raw, "*."); ok {
			raw, wild = rest, true
		} else if i := strings.Index(raw, "://*."); i >= 0 {
			raw, wild = raw[:i+3]+raw[i+5:], true
		}
		h = raw
		if !strings.Contains(h, "://") {
			raw = "https://" + h
		}
		u, err := url.Parse(raw)
		if err != nil || h == "" {
			return nil, fmt.Errorf("scope: host %q is not host, host:port or https://host:port", RedactURL(h))
		}
		o, ok := originOf(u)
		if !ok || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("scope: host %q is not host, host:port or https://host:port", RedactURL(h))
		}
		if o.scheme == "http" && !s.allowHTTP {
			return nil, fmt.Errorf("scope: host %q is http but the catalog is https: tokens are never sent over http", h)
		}
		if wild {
			if !strings.Contains(o.host, ".") || net.ParseIP(o.host) != nil {
				return nil, fmt.Errorf("scope: host \"*.%s\": a wildcard needs a domain of two labels or more", o.host)
			}
			s.wild = append(s.wild, o)
			continue
		}
		s.origins[o] = true
	}
	return s, nil
}

// Allows reports whether a request to u may carry the token: u's origin (scheme, host
// case-insensitive, port with the defaults 80 and 443) is the catalog's or one of the
// listed hosts'; the scheme is https, or http when the catalog itself is http; and u is
// not presigned.
func (s *Scope) Allows(u *url.URL) bool {
	if s == nil {
		return false
	}
	o, ok := originOf(u)
	if !ok || (o.scheme == "http" && !s.allowHTTP) || !(s.origins[o] || s.matchesWild(o)) {
		return false
	}
	return !Presigned(u)
}

// matchesWild reports whether o is under one of the "*." hosts (same scheme and port).
func (s *Scope) matchesWild(o origin) bool {
	for _, w := range s.wild {
		if w.scheme == o.scheme && w.port == o.port && strings.HasSuffix(o.host, "."+w.host) {
			return true
		}
	}
	return false
}

// Origins returns the origins of the scope as scheme://host:port, sorted, for logs.
func (s *Scope) Origins() []string {
	var out []string
	for o := range s.origins {
		out = append(out, o.String())
	}
	for _, w := range s.wild {
		out = append(out, w.scheme+"://*."+w.host+":"+w.port)
	}
	slices.Sort(out)
	return out
}

// Presigned reports whether u carries its own signature in the query, so that an
// Authorization header must not be added (S3 refuses both at once): AWS SigV4
// (X-Amz-Signature, X-Amz-Credential), AWS SigV2 (Signature with AWSAccessKeyId or
// Expires), Azure SAS (sig with sv or se), Google (X-Goog-Signature). Keys are matched
// case-insensitively.
func Presigned(u *url.URL) bool {
	if u == nil || u.RawQuery == "" {
		return false
	}
	keys := map[string]bool{}
	for k := range u.Query() {
		keys[strings.ToLower(k)] = true
	}
	switch {
	case keys["x-amz-signature"], keys["x-amz-credential"], keys["x-goog-signature"]:
		return true
	case keys["signature"] && (keys["awsaccesskeyid"] || keys["expires"]):
		return true
	case keys["sig"] && (keys["sv"] || keys["se"]):
		return true
	}
	return false
}

// signingParams are query parameters that sign or authorise a URL rather
// than name an object (S3 v2/v4, Azure SAS, GCS, CloudFront), lower case.
var signingParams = map[string]bool{
	"awsaccesskeyid": true, "signature": true, "expires": true, "x-amz-security-token": true,
	"sig": true, "sv": true, "se": true, "st": true, "sp": true, "sr": true, "spr": true, "srt": true, "ss": true,
	"skoid": true, "sktid": true, "skt": true, "ske": true, "sks": true, "skv": true, "sdd": true,
	"policy": true, "key-pair-id": true,
}

// UnsignedURL returns u without userinfo, fragment and the query parameters
// that sign it (X-Amz-*, X-Goog-*, SAS and the like), the others sorted: a
// name for the object that stays the same when its URL is signed again.
func UnsignedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return RedactURL(raw)
	}
	q := u.Query()
	for k := range q {
		lk := strings.ToLower(k)
		if signingParams[lk] || strings.HasPrefix(lk, "x-amz-") || strings.HasPrefix(lk, "x-goog-") {
			q.Del(k)
		}
	}
	u.User, u.Fragment, u.RawFragment = nil, "", ""
	u.RawQuery = q.Encode() // sorted by key
	return u.String()
}
