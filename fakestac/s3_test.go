package fakestac

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

const (
	fakeKeyID  = "AKIAFAKESTACS3TEST01"
	fakeSecret = "fakestac-s3-secret-0123456789abcdefghij"
)

// sdkClient is the AWS SDK's S3 client for the fake, signing with secret for region
// (header-signed requests, as the SDK's GetObject sends them).
func sdkClient(t *testing.T, f *S3, secret, region string) *s3.Client {
	t.Helper()
	SetAWSTestEnv(t, "")
	return s3.NewFromConfig(aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(fakeKeyID, secret, "")},
		func(o *s3.Options) {
			o.BaseEndpoint = aws.String(f.URL)
			o.UsePathStyle = true
			o.RetryMaxAttempts = 1
		})
}

func newFakeS3(t *testing.T) *S3 {
	t.Helper()
	f := NewS3()
	t.Cleanup(f.Close)
	f.AddKey(fakeKeyID, fakeSecret)
	f.AddBucket("pub", S3Bucket{Region: "us-west-2", Public: true})
	f.AddBucket("rp", S3Bucket{Region: "eu-central-1", RequesterPays: true})
	f.PutObject("pub", "k/o.bin", Asset{Size: 10_000, Seed: 1})
	f.PutObject("rp", "k/o.bin", Asset{Size: 10_000, Seed: 2})
	return f
}

// TestS3SDKGetObject: the fake accepts what the SDK signs in headers (GetObject with
// Range, requester pays), and refuses a wrong secret, a wrong region and a missing
// request-payer the way S3 does.
func TestS3SDKGetObject(t *testing.T) {
	tests := []struct {
		name, bucket, secret, region string
		payer                        bool
		wantCode                     string // "" = success
	}{
		{"requester pays", "rp", fakeSecret, "eu-central-1", true, ""},
		{"public, signed", "pub", fakeSecret, "us-west-2", false, ""},
		{"requester pays without the header", "rp", fakeSecret, "eu-central-1", false, "AccessDenied"},
		{"wrong secret", "rp", "not-the-secret-not-the-secret", "eu-central-1", true, "SignatureDoesNotMatch"},
		{"wrong region", "rp", fakeSecret, "us-east-1", true, "AuthorizationHeaderMalformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3(t)
			c := sdkClient(t, f, tt.secret, tt.region)
			in := &s3.GetObjectInput{Bucket: aws.String(tt.bucket), Key: aws.String("k/o.bin"), Range: aws.String("bytes=100-1099")}
			if tt.payer {
				in.RequestPayer = types.RequestPayerRequester
			}
			out, err := c.GetObject(context.Background(), in)
			if tt.wantCode != "" {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
				if st := f.Stats(); st.Refused != 1 || st.Signed != 0 {
					t.Errorf("stats %+v", st)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(out.Body)
			_ = out.Body.Close()
			if !bytes.Equal(b, RampBytes(map[string]int{"pub": 1, "rp": 2}[tt.bucket], 100, 1000)) {
				t.Error("bytes differ")
			}
			if tt.payer != (out.RequestCharged == types.RequestChargedRequester) {
				t.Errorf("RequestCharged = %q", out.RequestCharged)
			}
			if st := f.Stats(); st.Signed != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestS3Presigned: presigned URLs are accepted until they expire, and a tampered one is
// refused; unsigned requests reach public buckets only; HEAD of a bucket names its region.
func TestS3Presigned(t *testing.T) {
	f := newFakeS3(t)
	c := sdkClient(t, f, fakeSecret, "eu-central-1")
	req, err := s3.NewPresignClient(c).PresignGetObject(context.Background(),
		&s3.GetObjectInput{Bucket: aws.String("rp"), Key: aws.String("k/o.bin"), RequestPayer: types.RequestPayerRequester},
		func(o *s3.PresignOptions) { o.Expires = time.Minute })
	if err != nil {
		t.Fatal(err)
	}
	status := func(method, u string) (int, http.Header) {
		t.Helper()
		r, _ := http.NewRequest(method, u, nil)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	if code, h := status("GET", req.URL); code != 200 || h.Get("X-Amz-Request-Charged") != "requester" {
		t.Errorf("presigned GET: %d %v", code, h)
	}
	if code, _ := status("GET", strings.Replace(req.URL, "x-id=GetObject", "x-id=PutObject", 1)); code != 403 {
		t.Errorf("tampered query: %d, want 403", code)
	}
	if code, _ := status("HEAD", req.URL); code != 403 {
		t.Errorf("presigned GET sent as HEAD: %d, want 403", code)
	}
	f.mu.Lock()
	f.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	f.mu.Unlock()
	if code, _ := status("GET", req.URL); code != 403 {
		t.Errorf("expired presigned GET: %d, want 403", code)
	}
	if code, _ := status("GET", f.URL+"/pub/k/o.bin"); code != 200 {
		t.Errorf("unsigned GET of a public bucket: %d", code)
	}
	if code, _ := status("GET", f.URL+"/rp/k/o.bin"); code != 403 {
		t.Errorf("unsigned GET of a private bucket: %d", code)
	}
	for b, region := range map[string]string{"pub": "us-west-2", "rp": "eu-central-1"} {
		if _, h := status("HEAD", f.URL+"/"+b); h.Get("X-Amz-Bucket-Region") != region {
			t.Errorf("HEAD /%s: region %q, want %s", b, h.Get("X-Amz-Bucket-Region"), region)
		}
	}
	if code, _ := status("GET", f.URL+"/nope/k"); code != 404 {
		t.Errorf("unknown bucket: %d, want 404", code)
	}
}
