package fakestac

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Planetary Computer scenario constants.
const (
	PCCollection = "sentinel-2-l2a"
	PCAccount    = "sentinel2l2a01"
	PCContainer  = "sentinel2-l2"
	pcSASPrefix  = "/api/sas/v1"
)

// PCOptions configures NewPlanetaryComputer. The zero value is usable.
type PCOptions struct {
	// SASTTL is the lifetime of a SAS token (default 45 minutes, as outside Azure).
	// Expiries are whole seconds, as in Azure's se parameter.
	SASTTL time.Duration
	// SubscriptionKey, when set, is the only Ocp-Apim-Subscription-Key the SAS API
	// accepts; another key gets 403. A request without a key is served (anonymous use).
	SubscriptionKey string
	// TokensPerMinute answers 429 (Retry-After: 1) to token requests beyond this many in
	// the last minute; 0 means no limit.
	TokensPerMinute int
}

// PlanetaryComputer emulates Microsoft Planetary Computer: an anonymous STAC API
// (PagingPOSTFull) whose asset hrefs point at a blob host, a SAS API handing out
// container tokens, and the blob host, which serves an object only with a valid,
// unexpired token of its container in the query (sig, se...), else 403
// AuthenticationFailed as Azure does.
//
// The blob host names the account in the path, as the Azurite emulator does:
// {BlobURL}/{account}/{container}/{blob}. The SAS API answers GET
// {SASURL}/token/{account}/{container} with {"msft:expiry", "token"}.
//
// Collection sentinel-2-l2a holds two items (S2A_MSIL2A_20240612..., S2B_MSIL2A_20240615...),
// each with B04 (a real 1024x1024 COG, file:size) and ramp (3 MiB of ramp bytes, seed 7
// and 8, no file:size) in container sentinel2-l2 of account sentinel2l2a01, and
// visual in container sentinel2-vis (a second token) of the first item.
type PlanetaryComputer struct {
	STAC, SAS, Blob *Server
	// STACURL is the landing page, SASURL the SAS API root (.../api/sas/v1), BlobURL the
	// blob host's origin.
	STACURL, SASURL, BlobURL string
	// Items lists the item ids; Hrefs maps "<item>/<asset>" to the unsigned href.
	Items []string
	Hrefs map[string]string

	opts PCOptions
	key  []byte

	mu     sync.Mutex
	tokens map[string]int  // GUARDED_BY(mu): tokens issued per account/container
	seen   map[string]bool // GUARDED_BY(mu): tokens handed out
	recent []time.Time     // GUARDED_BY(mu): token requests in the last minute
	denied map[string]int  // GUARDED_BY(mu): blob refusals by reason
}

// NewPlanetaryComputer starts the Planetary Computer scenario.
func NewPlanetaryComputer(o PCOptions) *PlanetaryComputer {
	if o.SASTTL <= 0 {
		o.SASTTL = 45 * time.Minute
	}
	p := &PlanetaryComputer{
		STAC:   New(Options{Paging: PagingPOSTFull, Prefix: "/api/stac/v1", NumberMatched: true}),
		SAS:    New(Options{AssetsOnly: true}),
		Blob:   New(Options{AssetsOnly: true}),
		Hrefs:  map[string]string{},
		opts:   o,
		key:    []byte(randHex(16)),
		tokens: map[string]int{},
		seen:   map[string]bool{},
		denied: map[string]int{},
	}
	p.STACURL, p.SASURL, p.BlobURL = p.STAC.STACURL, p.SAS.URL+pcSASPrefix, p.Blob.URL
	p.SAS.Handle("GET "+pcSASPrefix+"/token/{account}/{container}", http.HandlerFunc(p.serveToken))
	p.Blob.AddGuard("/", p.checkBlob)
	p.STAC.AddCollection(Collection{ID: PCCollection, Title: "Sentinel-2 Level-2A",
		Start: time.Date(2015, 6, 27, 0, 0, 0, 0, time.UTC), Bbox: bbox31UFS})
	for i, id := range []string{"S2A_MSIL2A_20240612T104631_R051_T31UFS_20240612T173241",
		"S2B_MSIL2A_20240615T105619_R094_T31UFS_20240615T140541"} {
		day := time.Date(2024, 6, 12+3*i, 10, 46, 31, 24000000, time.UTC)
		dir := fmt.Sprintf("/%s/%s/31/U/FS/%s/%s/", PCAccount, PCContainer, day.Format("2006/01/02"), id)
		assets := map[string]Asset{
			"B04": {Path: dir + "B04_10m.tif", Content: demoB04, FileSize: true, Type: cogType,
				Title: "Band 4 - Red - 10m", Roles: []string{"data"}},
			"ramp": {Path: dir + "ramp.bin", Size: 3 << 20, Seed: 7 + i, Type: "application/octet-stream",
				Roles: []string{"data"}},
		}
		if i == 0 {
			assets["visual"] = Asset{Path: fmt.Sprintf("/%s/sentinel2-vis/%s/TCI_10m.tif", PCAccount, id),
				Content: demoB08, FileSize: true, Type: cogType, Title: "True color image", Roles: []string{"visual"}}
		}
		for k, a := range assets {
			a.Href = p.Blob.URL + a.Path
			assets[k] = a
			p.Blob.AddAsset(a)
			p.Hrefs[id+"/"+k] = a.Href
		}
		p.STAC.AddItem(Item{ID: id, Collection: PCCollection, Datetime: &day, Bbox: bbox31UFS,
			Properties: map[string]any{"platform": "Sentinel-2A", "eo:cloud_cover": 3.5},
			Assets:     assets})
		p.Items = append(p.Items, id)
	}
	return p
}

// Close shuts every origin down.
func (p *PlanetaryComputer) Close() {
	p.STAC.Close()
	p.SAS.Close()
	p.Blob.Close()
}

// Logs returns the request logs of the STAC API ("stac"), the SAS API ("sas") and the blob
// host ("blob").
func (p *PlanetaryComputer) Logs() []ServerLog {
	return []ServerLog{logOf("stac", p.STAC), logOf("sas", p.SAS), logOf("blob", p.Blob)}
}

// TokensIssued returns how many tokens the SAS API handed out for account/container.
func (p *PlanetaryComputer) TokensIssued(account, container string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens[account+"/"+container]
}

// Denied returns how many blob requests were refused for reason ("missing", "expired",
// "invalid").
func (p *PlanetaryComputer) Denied(reason string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.denied[reason]
}

// IssuedTokens returns every token handed out, for tests that look for them elsewhere.
func (p *PlanetaryComputer) IssuedTokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.seen))
	for t := range p.seen {
		out = append(out, t)
	}
	return out
}

// sign computes the signature of a container token.
func (p *PlanetaryComputer) sign(account, container, st, se, sp, sv string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(strings.Join([]string{account, container, st, se, sp, sv}, "\n")))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// serveToken is GET /api/sas/v1/token/{account}/{container}.
func (p *PlanetaryComputer) serveToken(w http.ResponseWriter, r *http.Request) {
	// Server.Handle routes by pattern without setting path values: split the path here.
	account, container, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, pcSASPrefix+"/token/"), "/")
	if k := r.Header.Get("Ocp-Apim-Subscription-Key"); k != "" && p.opts.SubscriptionKey != "" && k != p.opts.SubscriptionKey {
		writeJSON(w, http.StatusForbidden, "application/json", map[string]string{
			"statusCode": "403", "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."})
		return
	}
	now := time.Now()
	p.mu.Lock()
	if p.opts.TokensPerMinute > 0 {
		kept := p.recent[:0]
		for _, t := range p.recent {
			if now.Sub(t) < time.Minute {
				kept = append(kept, t)
			}
		}
		p.recent = kept
		if len(p.recent) >= p.opts.TokensPerMinute {
			p.mu.Unlock()
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, "application/json", map[string]string{
				"statusCode": "429", "message": "Rate limit is exceeded. Try again in 1 seconds."})
			return
		}
		p.recent = append(p.recent, now)
	}
	exp := now.Add(p.opts.SASTTL).Truncate(time.Second)
	st := now.Add(-5 * time.Minute).UTC().Format(time.RFC3339)
	se := exp.UTC().Format(time.RFC3339)
	sp, sv := "rl", "2024-05-04"
	sig := p.sign(account, container, st, se, sp, sv)
	q := url.Values{"st": {st}, "se": {se}, "sp": {sp}, "sv": {sv}, "sr": {"c"},
		"skoid": {"c85c15d6-d1ae-42d4-af60-e2ca0f81359b"}, "sig": {sig}}
	tok := q.Encode()
	p.tokens[account+"/"+container]++
	p.seen[tok] = true
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, "application/json", map[string]string{"msft:expiry": se, "token": tok})
}

// checkBlob refuses a blob request without a valid, unexpired token of its container.
func (p *PlanetaryComputer) checkBlob(w http.ResponseWriter, r *http.Request) bool {
	segs := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	q := r.URL.Query()
	reason := ""
	switch {
	case len(segs) < 3 || q.Get("sig") == "" || q.Get("se") == "":
		reason = "missing"
	case p.sign(segs[0], segs[1], q.Get("st"), q.Get("se"), q.Get("sp"), q.Get("sv")) != q.Get("sig"):
		reason = "invalid"
	default:
		se, err := time.Parse(time.RFC3339, q.Get("se"))
		if err != nil || !time.Now().Before(se) {
			reason = "expired"
		}
	}
	if reason == "" {
		return false
	}
	p.mu.Lock()
	p.denied[reason]++
	p.mu.Unlock()
	msg := "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."
	if reason == "expired" {
		msg = "Signed expiry time [" + q.Get("se") + "] must be after signed start time and the current time."
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-ms-error-code", "AuthenticationFailed")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>%s\nRequestId:%s\nTime:%s</Message></Error>",
		msg, randHex(8), time.Now().UTC().Format(time.RFC3339Nano))
	return true
}
