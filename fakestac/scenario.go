package fakestac

import (
	"crypto/rand"
	"encoding/hex"
)

// The plumbing shared by the provider scenarios (esa.go, terrascope.go, earthplatform.go,
// planetary.go, earthdata.go, cdse.go): their request logs and random secrets.

// ServerLog is the request log of one origin of a provider scenario.
type ServerLog struct {
	// Name is the role of the origin: "stac", "token", "download" or "store".
	Name string
	// Origin is http://127.0.0.1:port.
	Origin   string
	Requests []Request
}

// WithAuthorization returns the logged requests that carried an Authorization header.
func (l ServerLog) WithAuthorization() []Request {
	var out []Request
	for _, r := range l.Requests {
		if r.Header.Get("Authorization") != "" {
			out = append(out, r)
		}
	}
	return out
}

func logOf(name string, s *Server) ServerLog {
	return ServerLog{Name: name, Origin: s.URL, Requests: s.Requests()}
}

// randHex returns n random bytes in hex: secrets, ids and signing keys of the fakes.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
