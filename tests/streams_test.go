package tests

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

// streamProducts serves one item per name in collection ZIPS on
// 2024-03-05, each with a real zip (a stored binary member and a deflated
// XML one) that its server streams as a zip built on the fly: chunked, no
// length, no Range. It returns the server and the zip's bytes.
func streamProducts(t *testing.T, names ...string) (*fakestac.Server, []byte) {
	t.Helper()
	mod := time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)
	product, err := fakestac.BuildZip([]fakestac.ZipEntry{
		{Name: "measurement/band.tiff", Data: ramp(7, 0, 200<<10)},
		{Name: "annotation/annot.xml", Data: bytes.Repeat([]byte("<a>annotation</a>\n"), 2000), Deflate: true},
	}, mod)
	if err != nil {
		t.Fatal(err)
	}
	srv := fakestac.New(fakestac.Options{})
	t.Cleanup(srv.Close)
	srv.AddCollection(fakestac.Collection{ID: "ZIPS", Start: mod})
	for _, id := range names {
		srv.AddItem(fakestac.Item{ID: id, Collection: "ZIPS", Datetime: &mod, Assets: map[string]fakestac.Asset{
			"product": {Path: "/zipper/" + id + ".zip", Content: product, NoLength: true, Type: "application/zip"},
		}})
	}
	return srv, product
}

// streamPath is the mounted product zip of item id (streamProducts).
func streamPath(m *mount, id string) string {
	return filepath.Join(m.Dir, "ZIPS/2024/03/05", id, id+".zip")
}

// wholeGETs counts the GETs of item id's product without Range (a stat
// reads the head with one ranged GET; the stream is a GET without).
func wholeGETs(srv *fakestac.Server, id string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet && r.Path == "/zipper/"+id+".zip" && r.Range == "" {
			n++
		}
	}
	return n
}

// streamConfig mounts catalog "fake" at srv with [cache] stream_stat_limit
// (the default when empty).
func streamConfig(srv *fakestac.Server, limit string) string {
	line := ""
	if limit != "" {
		line = fmt.Sprintf("stream_stat_limit = %q\n", limit)
	}
	return fmt.Sprintf("[cache]\nmemory = \"64MiB\"\n%s\n[catalogs.fake]\nurl = %q\n", line, srv.STACURL)
}

// TestStreamToolsWithoutPrefetch: a file its server streams without a
// length (ESA's product zip built on the fly) has its real size at the
// first stat, with no prefetch step: tar archives it whole (and extracts
// the same bytes), cp, cat and Python's open().read() copy it, unzip -l
// and Python's zipfile read its central directory at the end, du and
// ls -l count it. Each tool meets a cold stream and costs one download;
// listing the folders costs none.
func TestStreamToolsWithoutPrefetch(t *testing.T) {
	t.Parallel()
	requireTool(t, "tar", "unzip", "du", "cat", "cp", "ls", "/usr/bin/python3")
	tools := []string{"tar", "cp", "cat", "pyread", "unzip", "zipfile", "du", "ls_l"}
	var ids []string
	for _, tool := range tools {
		ids = append(ids, "P_"+tool)
	}
	srv, product := streamProducts(t, ids...)
	// Each download starts 300 ms late, as a zip built on the fly does:
	// a tool must get the size from its stat, not from a download that
	// its open started and that happened to end before it looked.
	srv.SetFault(func(r *http.Request) *fakestac.Fault {
		if strings.HasPrefix(r.URL.Path, "/zipper/") && r.Header.Get("Range") == "" {
			return &fakestac.Fault{Stall: 300 * time.Millisecond}
		}
		return nil
	})
	m := startMount(t, streamConfig(srv, ""))

	// Listing (READDIRPLUS) gives no attributes of a stream: no download.
	for _, id := range ids {
		run(t, "ls", filepath.Dir(streamPath(m, id)))
		if n := wholeGETs(srv, id); n != 0 {
			t.Fatalf("ls of %s's folder downloaded its product %d times, want 0", id, n)
		}
	}
	size := int64(len(product))
	for _, tool := range tools {
		id := "P_" + tool
		zip := streamPath(m, id)
		t.Run(tool, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			switch tool {
			case "tar":
				tarball := filepath.Join(out, "p.tar")
				run(t, "tar", "-cf", tarball, "-C", filepath.Dir(zip), filepath.Base(zip))
				run(t, "tar", "-xf", tarball, "-C", out)
				if got, err := os.ReadFile(filepath.Join(out, filepath.Base(zip))); err != nil || !bytes.Equal(got, product) {
					t.Errorf("tar -cf then -xf: %d bytes (%v), want the %d bytes of the product", len(got), err, size)
				}
			case "cp":
				run(t, "cp", zip, filepath.Join(out, "p.zip"))
				if got, err := os.ReadFile(filepath.Join(out, "p.zip")); err != nil || !bytes.Equal(got, product) {
					t.Errorf("cp: %d bytes (%v), want the %d bytes of the product", len(got), err, size)
				}
			case "cat":
				if got := run(t, "cat", zip); got != string(product) {
					t.Errorf("cat: %d bytes, want the %d bytes of the product", len(got), size)
				}
			case "pyread":
				got := run(t, "/usr/bin/python3", "-c", "import sys\n"+
					"sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())", zip)
				if got != string(product) {
					t.Errorf("python3 open().read(): %d bytes, want the %d bytes of the product", len(got), size)
				}
			case "unzip":
				list := run(t, "unzip", "-l", zip)
				if !strings.Contains(list, "measurement/band.tiff") || !strings.Contains(list, "annotation/annot.xml") {
					t.Errorf("unzip -l:\n%s\nwant both members", list)
				}
			case "zipfile":
				got := run(t, "/usr/bin/python3", "-c", "import sys, zipfile\n"+
					"z = zipfile.ZipFile(sys.argv[1])\n"+
					"assert z.testzip() is None\n"+
					"print(' '.join(sorted(z.namelist())))", zip)
				if strings.TrimSpace(got) != "annotation/annot.xml measurement/band.tiff" {
					t.Errorf("python3 zipfile: %q, want both members, CRCs good", got)
				}
			case "du":
				apparent := strings.Fields(run(t, "du", "-b", zip))[0]
				used, _ := strconv.ParseInt(strings.Fields(run(t, "du", "-B1", zip))[0], 10, 64)
				if apparent != strconv.FormatInt(size, 10) || used < size {
					t.Errorf("du: apparent %s, used %d bytes, want %d and at least that", apparent, used, size)
				}
			case "ls_l":
				if fields := strings.Fields(run(t, "ls", "-l", zip)); len(fields) < 5 || fields[4] != strconv.FormatInt(size, 10) {
					t.Errorf("ls -l: %v, want size %d", fields, size)
				}
			}
			if n := wholeGETs(srv, id); n != 1 {
				t.Errorf("%s: %d downloads of the product, want 1 (the stat's, read again from its spool)", tool, n)
			}
		})
	}
}

// TestStreamOverStatLimit: a stream longer than stream_stat_limit fails
// its stat with EFBIG ("File too large") and an ERROR log naming the
// setting, never a short size: tar refuses it rather than archive 0 bytes.
// The stat does not download it again within the TTL. Reading it works
// all the same (cat, whose fstat waits for the whole file it reads
// anyway; stacfs prefetch), and then its size is known.
func TestStreamOverStatLimit(t *testing.T) {
	t.Parallel()
	requireTool(t, "tar", "cat")
	srv, product := streamProducts(t, "BIG_stat", "BIG_cat", "BIG_prefetch")
	m := startMount(t, streamConfig(srv, "64KiB"))

	big := streamPath(m, "BIG_stat")
	for i := range 2 {
		if fi, err := os.Stat(big); !errors.Is(err, syscall.EFBIG) {
			t.Fatalf("stat %d of a stream over the limit: %s, want EFBIG", i, statSize(fi, err))
		}
	}
	if n := wholeGETs(srv, "BIG_stat"); n != 1 {
		t.Errorf("%d downloads for two stats, want 1 (the second knows it is over the limit)", n)
	}
	if log, ok := m.logged("level=ERROR", "stream_stat_limit", "/zipper/BIG_stat.zip"); !ok {
		t.Errorf("no ERROR line naming stream_stat_limit and the stream:\n%s", log)
	}
	cmd := exec.Command("tar", "-cf", filepath.Join(t.TempDir(), "p.tar"), "-C", filepath.Dir(big), filepath.Base(big))
	cmd.Env = append(os.Environ(), "LC_ALL=C") // the message in English
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "File too large") {
		t.Errorf("tar of a stream over the limit: %v\n%s\nwant a failure saying File too large", err, out)
	}

	catted := streamPath(m, "BIG_cat")
	if got := run(t, "cat", catted); got != string(product) {
		t.Errorf("cat of a stream over the limit: %d bytes, want the %d bytes of the product", len(got), len(product))
	}
	if fi, err := os.Stat(catted); err != nil || fi.Size() != int64(len(product)) {
		t.Errorf("stat after cat: %s, want size %d", statSize(fi, err), len(product))
	}
	if n := wholeGETs(srv, "BIG_cat"); n != 1 {
		t.Errorf("%d downloads for cat and stat, want 1", n)
	}

	pre := streamPath(m, "BIG_prefetch")
	if out, errOut, code := runStacfs(t, "prefetch", pre); code != 0 {
		t.Fatalf("prefetch of a stream over the limit: exit %d\n%s\n%s", code, out, errOut)
	}
	if fi, err := os.Stat(pre); err != nil || fi.Size() != int64(len(product)) {
		t.Errorf("stat after prefetch: %s, want size %d", statSize(fi, err), len(product))
	}
}
