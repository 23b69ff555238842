package remote

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

func TestSASContainer(t *testing.T) {
	s := &SAS{Endpoints: []string{"http://127.0.0.1:10000"}}
	for _, tc := range []struct {
		href, account, container string
	}{
		{"https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/31/U/FS/x.tif", "sentinel2l2a01", "sentinel2-l2"},
		{"https://Landsateuwest.BLOB.core.windows.net/landsat-c2/a/b.TIF", "landsateuwest", "landsat-c2"},
		{"http://127.0.0.1:10000/devstoreaccount1/c/blob.tif", "devstoreaccount1", "c"},
		{"http://sentinel2l2a01.blob.core.windows.net/c/x", "", ""}, // http: never signed
		{"https://sentinel2l2a01.blob.core.windows.net/", "", ""},
		{"https://a.b.blob.core.windows.net/c/x", "", ""},
		{"https://blob.core.windows.net.evil.example/c/x", "", ""},
		{"https://example.com/c/x", "", ""},
		{"http://127.0.0.1:10001/devstoreaccount1/c/blob.tif", "", ""},
		{"http://127.0.0.1:10000/devstoreaccount1/c", "", ""},
	} {
		u, _ := url.Parse(tc.href)
		a, c, ok := s.container(u)
		if a != tc.account || c != tc.container || ok != (tc.account != "") {
			t.Errorf("%s: got %q %q %v, want %q %q", tc.href, a, c, ok, tc.account, tc.container)
		}
	}
}

// pcReader returns a reader of pc's blobs through a SAS signer.
func pcReader(pc *fakestac.PlanetaryComputer, key string) (*SignedReader, *SAS) {
	sas := &SAS{APIURL: pc.SASURL, SubscriptionKey: key, Endpoints: []string{pc.BlobURL}}
	return &SignedReader{Client: &Client{}, Signer: sas}, sas
}

func TestSASSharedToken(t *testing.T) {
	t.Parallel()
	pc := fakestac.NewPlanetaryComputer(fakestac.PCOptions{SubscriptionKey: "pc-key-123456"})
	defer pc.Close()
	rd, sas := pcReader(pc, "pc-key-123456")
	ctx := context.Background()
	href := pc.Hrefs[pc.Items[0]+"/ramp"]
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			p := make([]byte, 64<<10)
			off := int64(i) * 100_000
			if _, err := rd.ReadAt(ctx, href, p, off, ""); err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(p, fakestac.RampBytes(7, off, int64(len(p)))) {
				t.Errorf("read at %d: wrong bytes", off)
			}
		})
	}
	wg.Wait()
	if n := pc.TokensIssued(fakestac.PCAccount, fakestac.PCContainer); n != 1 {
		t.Errorf("%d token requests for 16 reads of one container, want 1", n)
	}
	if sas.Requests() != 1 {
		t.Errorf("SAS.Requests() = %d, want 1", sas.Requests())
	}
	// A second container gets its own token.
	if _, _, err := rd.ReadHead(ctx, pc.Hrefs[pc.Items[0]+"/visual"], 1024); err != nil {
		t.Fatal(err)
	}
	if n := pc.TokensIssued(fakestac.PCAccount, "sentinel2-vis"); n != 1 {
		t.Errorf("%d tokens for the second container, want 1", n)
	}
	// The key went to the SAS API only, and no token reached the STAC API.
	for _, l := range pc.Logs() {
		for _, r := range l.Requests {
			if got := r.Header.Get("Ocp-Apim-Subscription-Key"); got != "" && l.Name != "sas" {
				t.Errorf("%s got the subscription key", l.Name)
			}
			if l.Name == "sas" && r.Header.Get("Ocp-Apim-Subscription-Key") != "pc-key-123456" {
				t.Errorf("SAS API request without the key: %s", r.Path)
			}
			if l.Name != "blob" && strings.Contains(r.RawQuery, "sig=") {
				t.Errorf("%s got a signed query", l.Name)
			}
		}
	}
}

func TestSASRenewsAheadOfExpiry(t *testing.T) {
	t.Parallel()
	pc := fakestac.NewPlanetaryComputer(fakestac.PCOptions{SASTTL: 3 * time.Second})
	defer pc.Close()
	rd, _ := pcReader(pc, "")
	ctx := context.Background()
	href := pc.Hrefs[pc.Items[1]+"/ramp"]
	end := time.Now().Add(7 * time.Second)
	reads := 0
	for time.Now().Before(end) {
		p := make([]byte, 4096)
		if _, err := rd.ReadAt(ctx, href, p, int64(reads)*4096, ""); err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		reads++
		time.Sleep(50 * time.Millisecond)
	}
	n := pc.TokensIssued(fakestac.PCAccount, fakestac.PCContainer)
	// Lifetimes of 2-3 s (whole seconds), renewed at half: about 7 s / 1.25 s.
	if n < 3 || n > 8 {
		t.Errorf("%d token requests for %d reads over 7 s of 3 s tokens, want one per half lifetime", n, reads)
	}
	if d := pc.Denied("expired") + pc.Denied("missing"); d != 0 {
		t.Errorf("%d reads refused: the token was not renewed ahead of its expiry", d)
	}
}

func TestSASRenewsOnRefusal(t *testing.T) {
	t.Parallel()
	pc := fakestac.NewPlanetaryComputer(fakestac.PCOptions{SASTTL: 2 * time.Second})
	defer pc.Close()
	rd, sas := pcReader(pc, "")
	var mu sync.Mutex
	skew := time.Duration(0)
	sas.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }
	ctx := context.Background()
	href := pc.Hrefs[pc.Items[0]+"/ramp"]
	p := make([]byte, 1000)
	if _, err := rd.ReadAt(ctx, href, p, 0, ""); err != nil {
		t.Fatal(err)
	}
	// Our clock lags: the cached token looks valid but the blob host finds it expired.
	time.Sleep(2100 * time.Millisecond)
	mu.Lock()
	skew = -2 * time.Second
	mu.Unlock()
	if _, err := rd.ReadAt(ctx, href, p, 1000, ""); err != nil {
		t.Fatalf("read after expiry: %v", err)
	}
	if !bytes.Equal(p, fakestac.RampBytes(7, 1000, 1000)) {
		t.Error("wrong bytes after renewal")
	}
	if pc.Denied("expired") != 1 || pc.TokensIssued(fakestac.PCAccount, fakestac.PCContainer) != 2 {
		t.Errorf("denied %d, tokens %d: want one refusal, then one new token", pc.Denied("expired"),
			pc.TokensIssued(fakestac.PCAccount, fakestac.PCContainer))
	}
}

func TestSASWaitsOn429(t *testing.T) {
	t.Parallel()
	pc := fakestac.NewPlanetaryComputer(fakestac.PCOptions{TokensPerMinute: 1})
	defer pc.Close()
	rd, _ := pcReader(pc, "")
	ctx := context.Background()
	if _, _, err := rd.ReadHead(ctx, pc.Hrefs[pc.Items[0]+"/ramp"], 10); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := rd.ReadHead(ctx2, pc.Hrefs[pc.Items[0]+"/visual"], 10)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second container under a 1/min limit: %v, want a wait until the caller gives up", err)
	}
	if time.Since(start) < time.Second {
		t.Errorf("gave up after %v, before the caller's deadline", time.Since(start))
	}
	got := pc.SAS.Count("/api/sas/v1/token/" + fakestac.PCAccount + "/sentinel2-vis")
	if got < 1 || got > 3 {
		t.Errorf("%d token requests in 1.5 s under Retry-After: 1, want 1 to 3", got)
	}
}

func TestSASBadKey(t *testing.T) {
	t.Parallel()
	pc := fakestac.NewPlanetaryComputer(fakestac.PCOptions{SubscriptionKey: "right-key-42"})
	defer pc.Close()
	rd, _ := pcReader(pc, "wrong-key-4242")
	_, _, err := rd.ReadHead(context.Background(), pc.Hrefs[pc.Items[0]+"/ramp"], 10)
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "invalid subscription key") {
		t.Fatalf("wrong key: %v, want ErrDenied with the server's message", err)
	}
	if strings.Contains(err.Error(), "wrong-key-4242") {
		t.Error("the key appears in the error")
	}
}

func TestSASLeavesOtherHrefs(t *testing.T) {
	s := &SAS{APIURL: "http://127.0.0.1:1/api/sas/v1"}
	for _, h := range []string{"https://example.com/a.tif",
		"https://a.blob.core.windows.net/c/x.tif?sv=1&sig=abc&se=2030-01-01T00:00:00Z"} {
		got, err := s.Sign(context.Background(), h)
		if err != nil || got != h {
			t.Errorf("Sign(%s) = %s, %v; want it unchanged", h, got, err)
		}
	}
}
