package fs

import (
	"bytes"
	"syscall"
	"testing"

	"github.com/stacfs/stacfs/remote"
)

func TestXattrRules(t *testing.T) {
	attrs := map[string]string{"user.stac.key": "B04", "user.stac.type": "image/tiff"}

	// Getxattr: size probe, too small, exact, unknown name.
	if n, errno := getxattr(attrs, "user.stac.key", nil); errno != 0 || n != 3 {
		t.Errorf("size probe = %d, %v; want 3, 0", n, errno)
	}
	if n, errno := getxattr(attrs, "user.stac.type", make([]byte, 3)); errno != syscall.ERANGE {
		t.Errorf("small buffer = %d, %v; want ERANGE", n, errno)
	}
	buf := make([]byte, 64)
	if n, errno := getxattr(attrs, "user.stac.type", buf); errno != 0 || string(buf[:n]) != "image/tiff" {
		t.Errorf("get = %q, %v", buf[:n], errno)
	}
	if _, errno := getxattr(attrs, "user.stac.nope", buf); errno != errNoAttr {
		t.Errorf("unknown name: %v, want ENODATA", errno)
	}
	if _, errno := getxattr(nil, "user.stac.key", nil); errno != errNoAttr {
		t.Errorf("no attributes: %v, want ENODATA", errno)
	}

	// Listxattr: NUL-terminated names, sorted; same size rules.
	want := []byte("user.stac.key\x00user.stac.type\x00")
	if n, errno := listxattr(attrs, nil); errno != 0 || int(n) != len(want) {
		t.Errorf("list size probe = %d, %v; want %d", n, errno, len(want))
	}
	if _, errno := listxattr(attrs, make([]byte, len(want)-1)); errno != syscall.ERANGE {
		t.Errorf("list small buffer: %v, want ERANGE", errno)
	}
	if n, errno := listxattr(attrs, buf); errno != 0 || !bytes.Equal(buf[:n], want) {
		t.Errorf("list = %q, %v; want %q", buf[:n], errno, want)
	}
	if n, errno := listxattr(nil, nil); errno != 0 || n != 0 {
		t.Errorf("empty list = %d, %v", n, errno)
	}
}

func TestAssetXattrs(t *testing.T) {
	a := &remote.Asset{
		Key:   "B04",
		Href:  "https://bucket.s3.amazonaws.com/a/B04.tif?X-Amz-Signature=abc&X-Amz-Credential=k&v=2",
		Roles: []string{"data", "reflectance"},
	}
	got := assetXattrs(a)
	want := map[string]string{
		"user.stac.href":  "https://bucket.s3.amazonaws.com/a/B04.tif?v=2",
		"user.stac.key":   "B04",
		"user.stac.roles": "data,reflectance",
	}
	if len(got) != len(want) {
		t.Errorf("attributes %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if got := assetXattrs(&remote.Asset{Key: "x", Href: "s3://bucket/k/x.tif"})["user.stac.href"]; got != "s3://bucket/k/x.tif" {
		t.Errorf("s3 href = %q", got)
	}
}
