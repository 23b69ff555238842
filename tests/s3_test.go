package tests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stacfs/stacfs/fakestac"
)

// Keys of the S3 fake (test values, not real credentials).
const (
	s3KeyID  = "AKIASTACFSMOUNTTEST1"
	s3Secret = "mount-test-secret-0123456789abcdefghijk"
)

// s3World is a STAC catalog whose assets are s3:// hrefs into an S3 fake: collection
// "cogs" in public bucket sentinel-cogs (us-west-2), collection "landsat" in
// requester-pays bucket usgs-landsat (eu-central-1) with https alternates on the STAC
// server, both holding the demo COG.
type s3World struct {
	stac *fakestac.Server
	s3   *fakestac.S3
	cog  []byte
}

// landsatKey is the object key of the requester-pays asset.
const landsatKey = "collection02/level-2/standard/oli-tirs/2024/199/024/LC09_L2SP_199024_20240612/B4.TIF"

func newS3World(t *testing.T) *s3World {
	t.Helper()
	cog, err := os.ReadFile(filepath.Join("..", "fakestac", "testdata", "s2_B04.tif"))
	if err != nil {
		t.Fatal(err)
	}
	w := &s3World{stac: fakestac.New(fakestac.Options{}), s3: fakestac.NewS3(), cog: cog}
	t.Cleanup(w.stac.Close)
	t.Cleanup(w.s3.Close)
	w.s3.AddKey(s3KeyID, s3Secret)
	w.s3.AddBucket("sentinel-cogs", fakestac.S3Bucket{Region: "us-west-2", Public: true})
	w.s3.AddBucket("usgs-landsat", fakestac.S3Bucket{Region: "eu-central-1", RequesterPays: true})
	day := time.Date(2024, 6, 12, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct{ coll, bucket, key string }{
		{"cogs", "sentinel-cogs", "sentinel-s2-l2a-cogs/31/U/FS/2024/6/S2A_31UFS_20240612_0_L2A/B04.tif"},
		{"landsat", "usgs-landsat", landsatKey},
	} {
		w.stac.AddCollection(fakestac.Collection{ID: c.coll, Start: day})
		w.s3.PutObject(c.bucket, c.key, fakestac.Asset{Content: cog, Type: "image/tiff; application=geotiff"})
		a := fakestac.Asset{Href: "s3://" + c.bucket + "/" + c.key, Type: "image/tiff; application=geotiff", Roles: []string{"data"},
			Size: int64(len(cog)), FileSize: true}
		if c.coll == "landsat" {
			// The https alternate (as LandsatLook gives): served by the STAC server.
			w.stac.AddAsset(fakestac.Asset{Path: "/landsatlook/" + c.key, Content: cog})
			a.Alternates = map[string]string{"https": w.stac.URL + "/landsatlook/" + c.key}
		}
		w.stac.AddItem(fakestac.Item{ID: c.coll + "-item", Collection: c.coll, Datetime: &day, Bbox: []float64{3, 50, 4, 51},
			Assets: map[string]fakestac.Asset{"red": a}})
	}
	return w
}

// file returns the mounted path of the collection's one asset.
func (w *s3World) file(t *testing.T, m *mount, coll string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(m.Dir, coll, "*/*/*/*/*.[Tt][Ii][Ff]"))
	if len(files) != 1 {
		t.Fatalf("%s: asset files %q", coll, files)
	}
	return files[0]
}

// noS3Secrets checks that neither the secret key nor a signature left its scope: never in
// a request to any fake (the signature only in the S3 fake's query), never on stderr, never
// in an xattr.
func (w *s3World) noS3Secrets(t *testing.T, m *mount, files ...string) {
	t.Helper()
	for _, r := range w.s3.Requests() {
		if strings.Contains(r.RawQuery+fmt.Sprint(r.Header), s3Secret) {
			t.Errorf("the S3 fake received the secret key: %s %s", r.Method, r.Path)
		}
	}
	for _, r := range w.stac.Requests() {
		if s := r.RawQuery + fmt.Sprint(r.Header); strings.Contains(s, s3Secret) || strings.Contains(s, s3KeyID) || strings.Contains(s, "X-Amz-") {
			t.Errorf("the STAC server received S3 credentials: %s %s", r.Method, r.Path)
		}
	}
	out := m.stderr.String()
	for _, s := range []string{s3Secret, "X-Amz-Signature", "X-Amz-Credential", s3KeyID} {
		if strings.Contains(out, s) {
			t.Errorf("stderr shows %.12s...", s)
		}
	}
	for _, f := range files {
		buf := make([]byte, 64<<10)
		n, err := unix.Listxattr(f, buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
			v := make([]byte, 1<<20)
			vn, err := unix.Getxattr(f, name, v)
			if err != nil {
				t.Fatalf("getxattr %s: %v", name, err)
			}
			if s := string(v[:vn]); strings.Contains(s, s3Secret) || strings.Contains(s, "X-Amz-") {
				t.Errorf("xattr %s of %s holds a secret or signature", name, f)
			}
		}
	}
}

// TestS3PublicBucketUnsigned: with no AWS credentials anywhere, an s3:// href of a public
// bucket is read with unsigned requests, byte-exact, the bucket's region found once.
func TestS3PublicBucketUnsigned(t *testing.T) {
	// The mount inherits the environment. The SDK's default region there (us-east-1) is
	// not the buckets': stacfs finds theirs by X-Amz-Bucket-Region.
	fakestac.SetAWSTestEnv(t, "")
	w := newS3World(t)
	m := startMount(t, configFor(w.stac, fmt.Sprintf("[catalogs.fake.s3]\nendpoint = %q\n", w.s3.URL)))
	f := w.file(t, m, "cogs")
	if got := readFresh(t, f); !bytes.Equal(got, w.cog) {
		t.Fatalf("%s differs from the object (%d bytes, want %d)", f, len(got), len(w.cog))
	}
	cp := filepath.Join(t.TempDir(), "copy.tif")
	run(t, "cp", f, cp)
	if got, _ := os.ReadFile(cp); !bytes.Equal(got, w.cog) {
		t.Fatal("cp copy differs")
	}
	if st := w.s3.Stats(); st.Signed != 0 || st.Unsigned == 0 || st.Refused != 0 {
		t.Errorf("S3 fake stats %+v: want only unsigned requests", w.s3.Stats())
	}
	heads := 0
	for _, r := range w.s3.Requests() {
		if r.Method == "HEAD" {
			heads++
		}
		if r.Method == "GET" && r.Range == "" {
			t.Errorf("GET without Range: %s", r.Path)
		}
	}
	if heads != 1 {
		t.Errorf("%d region lookups, want 1", heads)
	}
	if href := xattr(t, f, "user.stac.href"); !strings.HasPrefix(href, "s3://sentinel-cogs/") {
		t.Errorf("user.stac.href = %q", href)
	}
	// The catalog's [s3] table makes s3:// hrefs win over https alternates: the
	// requester-pays bucket refuses an unsigned read (403), which is EACCES.
	if _, err := os.ReadFile(w.file(t, m, "landsat")); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("unsigned read of the requester-pays bucket: %v, want EACCES", err)
	}
	if st := w.s3.Stats(); st.Refused == 0 || st.Signed != 0 {
		t.Errorf("S3 fake stats %+v: want a refusal and nothing signed", st)
	}
	w.noS3Secrets(t, m, f)
}

// TestS3RequesterPays: with keys in the shared credentials file and requester_pays, an
// s3:// href of a requester-pays bucket (in another region than the profile's) is read with
// signed requests that say the requester pays; cp and a GDAL window match the object; the
// secret never leaves the S3 fake's signatures.
func TestS3RequesterPays(t *testing.T) {
	requireTool(t, "gdal_translate", "gdalinfo")
	fakestac.SetAWSTestEnv(t, fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", s3KeyID, s3Secret))
	w := newS3World(t)
	m := startMount(t, configFor(w.stac, fmt.Sprintf("prefer = [\"s3\", \"https\"]\n[catalogs.fake.s3]\nrequester_pays = true\nendpoint = %q\n", w.s3.URL)),
		"--catalog", "fake", "--debug")
	f := w.file(t, m, "landsat")
	if got := readFresh(t, f); !bytes.Equal(got, w.cog) {
		t.Fatalf("%s differs from the object", f)
	}
	cp := filepath.Join(t.TempDir(), "copy.tif")
	run(t, "cp", f, cp)
	if got, _ := os.ReadFile(cp); !bytes.Equal(got, w.cog) {
		t.Fatal("cp copy differs")
	}
	local := filepath.Join(t.TempDir(), "local.tif")
	if err := os.WriteFile(local, w.cog, 0o600); err != nil {
		t.Fatal(err)
	}
	translateBoth(t, "window", t.TempDir(), []string{"-srcwin", "300", "200", "512", "512"}, f, local)

	// One unsigned HEAD finds the bucket's region (a private bucket answers it 403, with
	// X-Amz-Bucket-Region); every GET is signed, says the requester pays, and succeeds.
	st := w.s3.Stats()
	if st.Signed == 0 || st.Charged != st.Signed || st.Refused != 1 {
		t.Errorf("S3 fake stats %+v: want signed, charged reads and one refused HEAD", st)
	}
	etag := w.s3.AssetETag("/usgs-landsat/" + landsatKey)
	pinned := 0
	for _, r := range w.s3.Requests() {
		if im := r.Header.Get("If-Match"); im != "" {
			pinned++
			if im != etag {
				t.Errorf("GET %s with If-Match %s, want the object's ETag %s", r.Path, im, etag)
			}
		}
		switch {
		case r.Method == "HEAD" && (r.Path != "/usgs-landsat" || r.Status != 403):
			t.Errorf("HEAD %s: %d, want the one region lookup", r.Path, r.Status)
		case r.Method == "GET" && (!strings.Contains(r.RawQuery, "X-Amz-Signature=") || r.Status != 206):
			t.Errorf("GET %s: status %d, signed %v", r.Path, r.Status, strings.Contains(r.RawQuery, "X-Amz-Signature="))
		}
	}
	// prefer = ["s3", ...] reads the s3:// href, not the https alternate; the file's href
	// is still the asset's own.
	if n := w.stac.Count("/landsatlook/"); n != 0 {
		t.Errorf("the https alternate was read %d times", n)
	}
	if href := xattr(t, f, "user.stac.href"); !strings.HasPrefix(href, "s3://usgs-landsat/") {
		t.Errorf("user.stac.href = %q", href)
	}
	// Reads after the first are pinned to the version seen first (If-Match).
	if pinned == 0 {
		t.Error("no GET carried If-Match")
	}
	// stacfs token --href prints a presigned URL a user can paste elsewhere; the fake
	// checks its signature and that it says the requester pays.
	signed := strings.TrimSpace(run(t, stacfsBin, "token", "--config", m.Config, "--catalog", "fake", "--href", "s3://usgs-landsat/"+landsatKey))
	if !strings.HasPrefix(signed, w.s3.URL+"/usgs-landsat/") || !strings.Contains(signed, "X-Amz-Signature=") {
		t.Fatalf("stacfs token --href: %q is not a presigned URL of the store", signed)
	}
	if got := get(t, signed, ""); !bytes.Equal(got, w.cog) {
		t.Error("the presigned URL gives other bytes")
	}
	w.noS3Secrets(t, m, f)
}

// TestS3RequesterPaysWithoutCredentials: requester_pays without any credentials fails the
// read with EACCES and a message saying what is missing, after a bounded time.
func TestS3RequesterPaysWithoutCredentials(t *testing.T) {
	fakestac.SetAWSTestEnv(t, "")
	w := newS3World(t)
	m := startMount(t, configFor(w.stac, fmt.Sprintf("prefer = [\"s3\"]\n[catalogs.fake.s3]\nrequester_pays = true\nendpoint = %q\n", w.s3.URL)))
	f := w.file(t, m, "landsat")
	start := time.Now()
	_, err := os.ReadFile(f)
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("read: %v, want EACCES", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("EACCES took %v", took)
	}
	// The log line travels through a pipe: give it a moment.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(m.stderr.String(), "requester pays needs AWS credentials"); {
		if time.Now().After(deadline) {
			t.Fatalf("no log line says what is missing:\n%s", m.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := w.s3.Stats().Signed; n != 0 {
		t.Errorf("%d signed requests without credentials", n)
	}
}

// xattr returns the value of an extended attribute.
func xattr(t *testing.T, path, name string) string {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := unix.Getxattr(path, name, buf)
	if err != nil {
		t.Fatalf("getxattr %s %s: %v", path, name, err)
	}
	return string(buf[:n])
}
