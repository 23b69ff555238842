package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// Test keys of the S3 fake (not real credentials).
const (
	s3TestKeyID  = "AKIASTACFSTEST000001"
	s3TestSecret = "stacfs-test-secret-0123456789abcdefghij"
)

// testCredentials is a shared credentials file with the fake's key as default and as
// profile "stacfs".
const testCredentials = "[default]\naws_access_key_id = " + s3TestKeyID + "\naws_secret_access_key = " + s3TestSecret +
	"\n\n[stacfs]\naws_access_key_id = " + s3TestKeyID + "\naws_secret_access_key = " + s3TestSecret + "\n"

// newS3Fake starts an S3 fake with a public bucket (us-west-2), a requester-pays bucket
// (eu-central-1) and a private one (us-east-1), each holding "a/b.tif".
func newS3Fake(t *testing.T) *fakestac.S3 {
	t.Helper()
	f := fakestac.NewS3()
	t.Cleanup(f.Close)
	f.AddKey(s3TestKeyID, s3TestSecret)
	f.AddBucket("public", fakestac.S3Bucket{Region: "us-west-2", Public: true})
	f.AddBucket("payer", fakestac.S3Bucket{Region: "eu-central-1", RequesterPays: true})
	f.AddBucket("private", fakestac.S3Bucket{})
	for i, b := range []string{"public", "payer", "private"} {
		f.PutObject(b, "a/b.tif", fakestac.Asset{Size: 300_000, Seed: i})
	}
	return f
}

func TestS3Read(t *testing.T) {
	tests := []struct {
		name    string
		creds   string
		cfg     S3Config
		bucket  string
		seed    int
		wantErr error  // nil: the read succeeds
		wantMsg string // in the error
		signed  bool
		charged bool
	}{
		{name: "public bucket, no credentials: unsigned", bucket: "public", seed: 0},
		{name: "public bucket, credentials: signed", creds: testCredentials, bucket: "public", seed: 0, signed: true},
		{name: "public bucket, anonymous forced", creds: testCredentials, cfg: S3Config{Anonymous: true}, bucket: "public", seed: 0},
		{name: "requester pays, signed with the shared file", creds: testCredentials, cfg: S3Config{RequesterPays: true}, bucket: "payer", seed: 1, signed: true, charged: true},
		{name: "requester pays, profile", creds: "[stacfs]" + strings.SplitN(testCredentials, "[stacfs]", 2)[1], cfg: S3Config{RequesterPays: true, Profile: "stacfs"},
			bucket: "payer", seed: 1, signed: true, charged: true},
		{name: "requester pays, static keys", cfg: S3Config{RequesterPays: true, AccessKeyID: s3TestKeyID, SecretAccessKey: s3TestSecret},
			bucket: "payer", seed: 1, signed: true, charged: true},
		{name: "requester pays bucket without requester_pays: 403", creds: testCredentials, bucket: "payer", wantErr: ErrDenied, wantMsg: "403"},
		{name: "requester pays without credentials", cfg: S3Config{RequesterPays: true}, bucket: "payer", wantErr: ErrDenied, wantMsg: "requester pays needs AWS credentials"},
		{name: "private bucket, no credentials: 403", bucket: "private", wantErr: ErrDenied, wantMsg: "403"},
		{name: "private bucket, signed", creds: testCredentials, bucket: "private", seed: 2, signed: true},
		{name: "wrong secret: 403, secret not shown", cfg: S3Config{AccessKeyID: s3TestKeyID, SecretAccessKey: "wrong-secret-wrong-secret"}, bucket: "private",
			wantErr: ErrDenied, wantMsg: "403"},
		{name: "configured region wrong for the bucket", creds: testCredentials, cfg: S3Config{Region: "ap-south-1"}, bucket: "public", wantMsg: "400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakestac.SetAWSTestEnv(t, tt.creds)
			f := newS3Fake(t)
			var logs bytes.Buffer
			cfg := tt.cfg
			cfg.Endpoint = f.URL
			s := NewS3(cfg, &Client{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), retryBase: 1})
			ctx := context.Background()
			u := "s3://" + tt.bucket + "/a/b.tif"
			p := make([]byte, 100_000)
			n, err := s.ReadAt(ctx, u, p, 123_456, "")
			if tt.wantErr != nil || tt.wantMsg != "" {
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.wantErr, tt.wantMsg)
				}
			} else {
				if err != nil || n != len(p) {
					t.Fatalf("ReadAt = %d, %v", n, err)
				}
				if !bytes.Equal(p, fakestac.RampBytes(tt.seed, 123_456, int64(len(p)))) {
					t.Fatal("bytes differ")
				}
				head, info, err := s.ReadHead(ctx, u, 4096)
				if err != nil || info.Size != 300_000 || !StrongETag(info.ETag) || !bytes.Equal(head, fakestac.RampBytes(tt.seed, 0, 4096)) {
					t.Fatalf("ReadHead = %d bytes, %+v, %v", len(head), info, err)
				}
				// ETag pinning: a changed object is refused, never mixed.
				if _, err := s.ReadAt(ctx, u, p[:10], 0, `"another"`); !errors.Is(err, ErrChanged) {
					t.Errorf("ReadAt with another ETag: %v, want ErrChanged", err)
				}
				st := f.Stats()
				if tt.signed != (st.Signed > 0) || tt.signed == (st.Unsigned > 1) {
					t.Errorf("signed %v, stats %+v", tt.signed, st)
				}
				if tt.charged != (st.Charged > 0) {
					t.Errorf("charged %v, stats %+v", tt.charged, st)
				}
			}
			var msg string
			if err != nil {
				msg = err.Error()
			}
			for _, where := range []string{msg, logs.String()} {
				if strings.Contains(where, s3TestSecret) || strings.Contains(where, "X-Amz-Signature") || strings.Contains(where, "X-Amz-Credential") {
					t.Errorf("a secret or signature shows: %s", where)
				}
			}
			for _, r := range f.Requests() {
				if strings.Contains(r.RawQuery+r.Header.Get("Authorization"), s3TestSecret) {
					t.Errorf("the secret key was sent: %+v", r)
				}
			}
		})
	}
}

// TestS3RegionDiscovery: without a configured region each bucket's region comes from one
// unsigned HEAD, cached; every later request is signed for it.
func TestS3RegionDiscovery(t *testing.T) {
	fakestac.SetAWSTestEnv(t, testCredentials)
	f := newS3Fake(t)
	s := NewS3(S3Config{Endpoint: f.URL, RequesterPays: true}, &Client{})
	ctx := context.Background()
	p := make([]byte, 1000)
	for range 5 {
		for _, b := range []string{"public", "payer", "private"} {
			if _, err := s.ReadAt(ctx, "s3://"+b+"/a/b.tif", p, 0, ""); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
		}
	}
	heads := 0
	for _, r := range f.Requests() {
		if r.Method == "HEAD" {
			heads++
			if r.Header.Get("Authorization") != "" || strings.Contains(r.RawQuery, "X-Amz-") {
				t.Errorf("region lookup was signed: %+v", r)
			}
		}
	}
	if heads != 3 {
		t.Errorf("%d region lookups, want 3 (one per bucket)", heads)
	}
	if st := f.Stats(); st.Signed != 15 {
		t.Errorf("stats %+v, want 15 signed reads", st)
	}
}

// TestS3Retries: a 503 from the store is retried like any https read, and the bytes are
// exact.
func TestS3Retries(t *testing.T) {
	fakestac.SetAWSTestEnv(t, "")
	f := newS3Fake(t)
	fails := 2
	f.SetFault(func(r *http.Request) *fakestac.Fault {
		if r.Method == http.MethodGet && fails > 0 {
			fails--
			return &fakestac.Fault{Status: http.StatusServiceUnavailable}
		}
		return nil
	})
	s := NewS3(S3Config{Endpoint: f.URL}, &Client{retryBase: 1})
	p := make([]byte, 5000)
	if n, err := s.ReadAt(context.Background(), "s3://public/a/b.tif", p, 7, ""); err != nil || n != len(p) || !bytes.Equal(p, fakestac.RampBytes(0, 7, 5000)) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
}

func TestParseS3URL(t *testing.T) {
	tests := []struct{ in, bucket, key string }{
		{"s3://b/k", "b", "k"},
		{"s3://sentinel-cogs/sentinel-s2-l2a-cogs/1/C/CV/2024/1/S2A/B04.tif", "sentinel-cogs", "sentinel-s2-l2a-cogs/1/C/CV/2024/1/S2A/B04.tif"},
		{"s3://b/a b+c.tif", "b", "a b+c.tif"},
		{"s3://b", "", ""},
		{"s3:///k", "", ""},
		{"https://b/k", "", ""},
	}
	for _, tt := range tests {
		b, k, err := ParseS3URL(tt.in)
		if b != tt.bucket || k != tt.key || (err == nil) != (tt.bucket != "") {
			t.Errorf("ParseS3URL(%q) = %q, %q, %v", tt.in, b, k, err)
		}
	}
}

// TestS3KeyEscaping: keys with spaces, plus signs and other reserved characters read the
// same object signed (the SDK's escaping) and unsigned (ours).
func TestS3KeyEscaping(t *testing.T) {
	const key = "dir/a b+c=d&e%f/ü.tif"
	for _, signed := range []bool{false, true} {
		t.Run(fmt.Sprintf("signed=%v", signed), func(t *testing.T) {
			creds := ""
			if signed {
				creds = testCredentials
			}
			fakestac.SetAWSTestEnv(t, creds)
			f := newS3Fake(t)
			f.PutObject("public", key, fakestac.Asset{Size: 5000, Seed: 9})
			s := NewS3(S3Config{Endpoint: f.URL}, &Client{})
			p := make([]byte, 5000)
			if n, err := s.ReadAt(context.Background(), "s3://public/"+key, p, 0, ""); err != nil || n != len(p) || !bytes.Equal(p, fakestac.RampBytes(9, 0, 5000)) {
				t.Fatalf("ReadAt = %d, %v", n, err)
			}
			if st := f.Stats(); (st.Signed > 0) != signed {
				t.Errorf("stats %+v, signed %v", st, signed)
			}
		})
	}
}

// TestS3PresignReuse: reads of one object within a few minutes reuse one presigned request;
// a refused one is dropped, and one past its reuse time is made again.
func TestS3PresignReuse(t *testing.T) {
	fakestac.SetAWSTestEnv(t, testCredentials)
	f := newS3Fake(t)
	s := NewS3(S3Config{Endpoint: f.URL}, &Client{})
	ctx := context.Background()
	p := make([]byte, 1000)
	for i := range 10 {
		if _, err := s.ReadAt(ctx, "s3://private/a/b.tif", p, int64(i*1000), ""); err != nil {
			t.Fatal(err)
		}
	}
	sigs := map[string]bool{}
	for _, r := range f.Requests() {
		if r.Method == "GET" {
			q, _ := url.ParseQuery(r.RawQuery)
			sigs[q.Get("X-Amz-Signature")] = true
		}
	}
	if len(sigs) != 1 {
		t.Errorf("%d signatures for 10 reads, want 1", len(sigs))
	}
	later := time.Now().Add(presignReuse + time.Second)
	s.now = func() time.Time { return later }
	if _, _, err := s.Request(ctx, "s3://private/a/b.tif"); err != nil {
		t.Fatal(err)
	}
	if kept, ok := s.signed.Get("s3://private/a/b.tif"); !ok || !kept.until.Equal(later.Add(presignReuse)) {
		t.Errorf("request past its reuse time not made again: %+v", kept)
	}
	s.now = time.Now
	// The key is revoked: the refused request is not kept.
	f.AddKey(s3TestKeyID, "rotated-secret-rotated-secret")
	if _, err := s.ReadAt(ctx, "s3://private/a/b.tif", p, 0, ""); !errors.Is(err, ErrDenied) {
		t.Fatalf("ReadAt with a revoked key: %v, want ErrDenied", err)
	}
	if _, ok := s.signed.Get("s3://private/a/b.tif"); ok {
		t.Error("a refused presigned request is kept")
	}
}
