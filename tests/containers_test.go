package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stacfs/stacfs/fakestac"
)

const safeID = "S2B_MSIL1C_20240305T103629_N0510_R008_T31UFS_20240305T123456"

// zipFixture serves one item whose product is a Range-capable SAFE-like zip
// (a stored GeoTIFF, a deflated XML, a deflated 30 MiB auxiliary file, an
// encrypted member), a second zip with unsafe member names, and a zip that
// its server cannot range. It returns the server, the mounted item folder
// and a local copy of the product.
func zipFixture(t *testing.T) (srv *fakestac.Server, item, local string, entries []fakestac.ZipEntry) {
	t.Helper()
	mod := time.Date(2024, 3, 5, 12, 34, 56, 0, time.UTC)
	entries = append(fakestac.SAFEEntries(safeID, fakestac.DemoGeoTIFF(), 30<<20),
		fakestac.ZipEntry{Name: safeID + ".SAFE/secret.bin", Data: []byte("not really encrypted"), Encrypted: true})
	product, err := fakestac.BuildZip(entries, mod)
	if err != nil {
		t.Fatal(err)
	}
	unsafe, err := fakestac.BuildZip([]fakestac.ZipEntry{
		{Name: "../escape.txt", Data: []byte("up")},
		{Name: "/abs/olute.txt", Data: []byte("abs"), Deflate: true},
		{Name: "ok/./fine.txt", Data: []byte("fine")},
	}, mod)
	if err != nil {
		t.Fatal(err)
	}
	srv = fakestac.New(fakestac.Options{})
	t.Cleanup(srv.Close)
	srv.AddCollection(fakestac.Collection{ID: "S2ZIP", Start: mod})
	dir := "/data/products/" + safeID + "/"
	srv.AddItem(fakestac.Item{
		ID: safeID, Collection: "S2ZIP", Datetime: &mod,
		Assets: map[string]fakestac.Asset{
			"product": {Path: dir + safeID + ".SAFE.zip", Content: product, Type: "application/zip", FileSize: true, Roles: []string{"data"}},
			"odd":     {Path: dir + "odd.zip", Content: unsafe, Roles: []string{"data"}},
			"onfly":   {Path: "/zipper/" + safeID + ".zip", Content: product, NoLength: true, Type: "application/zip"},
		},
	})
	local = filepath.Join(t.TempDir(), "product.zip")
	if err := os.WriteFile(local, product, 0o644); err != nil {
		t.Fatal(err)
	}
	m := startMount(t, configFor(srv, ""))
	item = filepath.Join(m.Dir, "S2ZIP", mod.Format("2006/01/02"), safeID)
	return srv, item, local, entries
}

// TestZipFolder: a zip product shows as its file and as a folder of its
// members, listed from the archive's end, read member by member.
func TestZipFolder(t *testing.T) {
	t.Parallel()
	requireTool(t, "unzip", "sha256sum")
	srv, item, local, entries := zipFixture(t)
	archive := "/data/products/" + safeID + "/" + safeID + ".SAFE.zip"

	// The item folder, listed without a request: the zip whose size the
	// item gives with its folder; the two others (no file:size) without
	// until they are known to be rangeable.
	names := ls(t, item)
	want := []string{safeID + ".SAFE/", safeID + ".SAFE.zip", safeID + ".zip", "item.json", "odd.zip"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("ls item = %q, want %q", names, want)
	}
	// Its stat (ls -l) tells: the rangeable one gets its folder, the
	// unrangeable one (an archive built on the fly) none.
	for _, z := range []string{"odd.zip", safeID + ".zip"} {
		if _, err := os.Stat(filepath.Join(item, z)); err != nil {
			t.Fatal(err)
		}
	}
	names = ls(t, item)
	want = []string{safeID + ".SAFE/", safeID + ".SAFE.zip", safeID + ".zip", "item.json", "odd/", "odd.zip"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("ls item after stat of the zips = %q, want %q", names, want)
	}

	// Listing the folder reads the archive's end only.
	srv.Reset()
	folder := filepath.Join(item, safeID+".SAFE")
	var got []string
	sizes := map[string]int64{}
	err := filepath.WalkDir(folder, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == folder {
			return err
		}
		rel, _ := filepath.Rel(folder, p)
		if d.IsDir() {
			rel += "/"
		} else {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			sizes[rel] = fi.Size()
			// (archive/zip writes no time for a raw, "encrypted", member)
			if !strings.HasSuffix(rel, "secret.bin") && !fi.ModTime().Equal(time.Date(2024, 3, 5, 12, 34, 56, 0, time.UTC)) {
				t.Errorf("%s: mtime %v", rel, fi.ModTime())
			}
		}
		got = append(got, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, b := srv.Count(archive), srv.BytesServed(archive); n > 2 || b > 256<<10 {
		t.Errorf("listing the zip folder made %d requests for %d bytes of the archive, want at most 2 (its end)", n, b)
	}
	// ... and `ls -R` of it matches `unzip -l` of the local copy: names,
	// folders, and the sizes unzip gives.
	lsR := lsRecursive(t, folder)
	unz := unzipList(t, local)
	var unzNames []string
	for name, size := range unz {
		unzNames = append(unzNames, name)
		if !strings.HasSuffix(name, "/") && sizes[name] != size {
			t.Errorf("%s: size %d on the mount, %d in unzip -l", name, sizes[name], size)
		}
	}
	sort.Strings(unzNames)
	if !reflect.DeepEqual(lsR, unzNames) {
		t.Errorf("ls -R of the zip folder:\n%s\nunzip -l:\n%s", strings.Join(lsR, "\n"), strings.Join(unzNames, "\n"))
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, unzNames) {
		t.Errorf("walk of the zip folder:\n%s\nunzip -l:\n%s", strings.Join(got, "\n"), strings.Join(unzNames, "\n"))
	}

	// Every member's bytes are the archive's (sha256sum), and its size.
	for _, e := range entries {
		if strings.HasSuffix(e.Name, "/") || e.Encrypted {
			continue
		}
		if sizes[e.Name] != int64(len(e.Data)) {
			t.Errorf("%s: size %d, want %d", e.Name, sizes[e.Name], len(e.Data))
		}
		sum := sha256.Sum256(e.Data)
		out := run(t, "sha256sum", filepath.Join(folder, e.Name))
		if f := strings.Fields(out); len(f) == 0 || f[0] != hex.EncodeToString(sum[:]) {
			t.Errorf("sha256sum %s = %s, want %x", e.Name, out, sum)
		}
	}

	// An encrypted member is listed and refuses to open.
	if _, err := os.ReadFile(filepath.Join(folder, safeID+".SAFE/secret.bin")); !errors.Is(err, syscall.EACCES) {
		t.Errorf("encrypted member: %v, want EACCES", err)
	}

	// Unsafe names stay inside the folder.
	for p, content := range map[string]string{"_/escape.txt": "up", "abs/olute.txt": "abs", "ok/fine.txt": "fine"} {
		if b, err := os.ReadFile(filepath.Join(item, "odd", p)); err != nil || string(b) != content {
			t.Errorf("odd/%s: %q, %v", p, b, err)
		}
	}
}

// lsRecursive runs `ls -R dir` and returns the paths it shows, relative to
// dir, folders with a trailing "/", sorted.
func lsRecursive(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	headers := map[string]bool{}
	section := ""
	for _, line := range strings.Split(run(t, "ls", "-R", dir), "\n") {
		if h, ok := strings.CutSuffix(line, ":"); ok && (h == dir || strings.HasPrefix(h, dir+"/")) {
			section = strings.TrimPrefix(strings.TrimPrefix(h, dir), "/")
			headers[section] = true
			continue
		}
		if line == "" {
			continue
		}
		if section == "" {
			out = append(out, line)
		} else {
			out = append(out, section+"/"+line)
		}
	}
	for i, p := range out {
		if headers[p] {
			out[i] = p + "/"
		}
	}
	sort.Strings(out)
	return out
}

// unzipList runs `unzip -l` on an archive and returns its names (folders
// end in "/") and lengths.
func unzipList(t *testing.T, archive string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	re := regexp.MustCompile(`^\s*(\d+)\s+\S+\s+\S+\s{3}(.+)$`)
	in := false
	for _, line := range strings.Split(run(t, "unzip", "-l", archive), "\n") {
		if strings.HasPrefix(line, "---------") {
			if in {
				break
			}
			in = true
			continue
		}
		if m := re.FindStringSubmatch(line); in && m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			out[m[2]] = n
		}
	}
	if len(out) == 0 {
		t.Fatalf("unzip -l %s listed nothing", archive)
	}
	return out
}

// TestZipMemberGDAL: GDAL reads the GeoTIFF stored in a zip like any
// asset, fetching its header and the window's tiles, not the archive.
func TestZipMemberGDAL(t *testing.T) {
	t.Parallel()
	requireTool(t, "gdalinfo", "gdal_translate")
	srv, item, _, _ := zipFixture(t)
	archive := "/data/products/" + safeID + "/" + safeID + ".SAFE.zip"
	tifName := safeID + ".SAFE/GRANULE/" + safeID + "/IMG_DATA/" + safeID + "_B04.tif"
	mounted := filepath.Join(item, safeID+".SAFE", tifName)
	local := filepath.Join(t.TempDir(), "B04.tif")
	if err := os.WriteFile(local, fakestac.DemoGeoTIFF(), 0o644); err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	info := run(t, "gdalinfo", mounted)
	if want := withoutPaths(run(t, "gdalinfo", local), local); withoutPaths(info, mounted) != want {
		t.Errorf("gdalinfo differs:\n%s\nwant:\n%s", info, want)
	}
	translateBoth(t, "window", t.TempDir(), []string{"-srcwin", "300", "200", "512", "512"}, mounted, local)
	waitQuiet(t, srv, archive)
	fi, err := os.Stat(filepath.Join(item, safeID+".SAFE.zip"))
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size()
	got := srv.BytesServed(archive)
	if got > size/10 {
		t.Errorf("gdalinfo and a window fetched %d bytes of a %d-byte archive, want at most 10%%", got, size)
	}
	t.Logf("gdalinfo + 512x512 window: %d requests, %d bytes of a %d-byte archive", srv.Count(archive), got, size)
}

// writeZarr writes a Zarr v2 store with consolidated metadata with
// python3-zarr (through xarray): variables temp and precip (time, y, x) in
// 16 chunks each, mask (y, x), coordinates; one chunk of precip is removed
// (the fill value applies).
const writeZarr = `
import sys, numpy as np, xarray as xr
y, x = np.linspace(50, 51, 30), np.linspace(3, 4, 40)
ds = xr.Dataset(
    {"temp": (("time", "y", "x"), np.random.default_rng(1).normal(size=(4, 30, 40)).astype("float32")),
     "precip": (("time", "y", "x"), np.random.default_rng(2).gamma(2, size=(4, 30, 40)).astype("float32")),
     "mask": (("y", "x"), (np.arange(1200).reshape(30, 40) % 7 == 0).astype("uint8"))},
    coords={"time": np.arange(4), "y": y, "x": x})
ds.chunk({"time": 1, "y": 15, "x": 20}).to_zarr(sys.argv[1], consolidated=True, mode="w")
`

// requireZarr needs Debian's python3 with zarr and xarray (a test fails
// without them in CI, else skips).
func requireZarr(t *testing.T) {
	t.Helper()
	requireTool(t, "/usr/bin/python3")
	if out, err := exec.Command("/usr/bin/python3", "-c", "import zarr, xarray").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-zarr and python3-xarray are required (run scripts/install-deps.sh): %v\n%s", err, out)
		}
		t.Skipf("python3-zarr or python3-xarray missing: %s", out)
	}
}

// TestZarrStore: a Zarr asset shows as a folder of its store's keys, and
// xarray reads it as it reads a local copy, fetching only what it reads.
func TestZarrStore(t *testing.T) {
	t.Parallel()
	requireZarr(t)
	local := filepath.Join(t.TempDir(), "S2B_MSIL2A_20240305.zarr")
	run(t, "/usr/bin/python3", "-c", writeZarr, local)
	if err := os.Remove(filepath.Join(local, "precip", "2.1.1")); err != nil {
		t.Fatal(err)
	}

	mod := time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)
	srv := fakestac.New(fakestac.Options{})
	t.Cleanup(srv.Close)
	const prefix = "/eopf/S2B_MSIL2A_20240305.zarr"
	if _, err := srv.AddStore(prefix, local); err != nil {
		t.Fatal(err)
	}
	srv.AddCollection(fakestac.Collection{ID: "EOPF", Start: mod})
	srv.AddItem(fakestac.Item{
		ID: "S2B_MSIL2A_20240305", Collection: "EOPF", Datetime: &mod,
		Assets: map[string]fakestac.Asset{
			"product": {Href: srv.Href(prefix), Type: "application/vnd+zarr", Roles: []string{"data", "metadata"}},
		},
	})
	m := startMount(t, configFor(srv, ""))
	item := filepath.Join(m.Dir, "EOPF/2024/03/05/S2B_MSIL2A_20240305")
	store := filepath.Join(item, "S2B_MSIL2A_20240305.zarr")
	if got := ls(t, item); !reflect.DeepEqual(got, []string{"S2B_MSIL2A_20240305.zarr/", "item.json"}) {
		t.Fatalf("ls item = %q", got)
	}
	root := ls(t, store)
	for _, want := range []string{".zattrs", ".zgroup", ".zmetadata", "mask/", "precip/", "temp/", "time/", "x/", "y/"} {
		if !contains(root, want) {
			t.Errorf("store root %q lacks %s", root, want)
		}
	}
	// Listing a variable's folder asks nothing: its chunk keys are computed.
	srv.Reset()
	temp := ls(t, filepath.Join(store, "temp"))
	if len(temp) != 2+16 || !contains(temp, "3.1.1") || !contains(temp, ".zarray") {
		t.Errorf("temp/ lists %q, want .zarray, .zattrs and 16 chunks", temp)
	}
	// The removed chunk is listed, and fails with ENOENT.
	if _, err := os.Stat(filepath.Join(store, "precip", "2.1.1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of a chunk the server does not have: %v, want ENOENT", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("listing temp/ and stating one chunk made %d requests, want 1 (the stat)", n)
	}

	// A key's attributes name what it reads.
	buf := make([]byte, 1024)
	n, err := syscall.Getxattr(filepath.Join(store, "temp", "0.0.0"), "user.stac.href", buf)
	if want := srv.Href(prefix) + "/temp/0.0.0"; err != nil || string(buf[:n]) != want {
		t.Errorf("user.stac.href of temp/0.0.0 = %q, %v; want %q", buf[:max(n, 0)], err, want)
	}

	// xarray reads the same values from the mount as from the local copy
	// (the missing chunk as the fill value).
	const same = `
import sys, xarray as xr
a, b = xr.open_zarr(sys.argv[1]).load(), xr.open_zarr(sys.argv[2]).load()
print(a.identical(b), float(a["temp"].sum()), int(a["precip"].isnull().sum()))
`
	out := strings.Fields(run(t, "/usr/bin/python3", "-c", same, store, local))
	if len(out) != 3 || out[0] != "True" || out[2] != "300" {
		t.Errorf("xarray on the mount and on the local copy: %v, want True, the sum, 300 NaN (one missing 15x20 chunk)", out)
	}

	// Reading one variable fetches that variable's chunks, each in one
	// request, and no chunk of the others.
	m2 := startMount(t, configFor(srv, ""))
	store2 := filepath.Join(m2.Dir, "EOPF/2024/03/05/S2B_MSIL2A_20240305/S2B_MSIL2A_20240305.zarr")
	srv.Reset()
	run(t, "/usr/bin/python3", "-c", `
import sys, xarray as xr
print(float(xr.open_zarr(sys.argv[1])["temp"].sum()))
`, store2)
	chunkReqs := map[string]int{}
	for _, r := range srv.Requests() {
		key := strings.TrimPrefix(r.Path, prefix+"/")
		v, name, _ := strings.Cut(key, "/")
		if name == "" || strings.HasPrefix(name, ".") {
			continue // metadata
		}
		chunkReqs[v]++
	}
	if chunkReqs["temp"] != 16 || chunkReqs["precip"] != 0 || chunkReqs["mask"] != 0 {
		t.Errorf("chunk requests by variable %v, want 16 for temp (one per chunk) and none for precip or mask", chunkReqs)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestZipReplaced: when the archive changes on the server, its folder shows
// the new members once the metadata TTL has passed, and they read the new
// bytes.
func TestZipReplaced(t *testing.T) {
	t.Parallel()
	mod := time.Date(2024, 3, 5, 12, 34, 56, 0, time.UTC)
	v1, err := fakestac.BuildZip([]fakestac.ZipEntry{
		{Name: "P/a.txt", Data: []byte("version one"), Deflate: true},
		{Name: "P/b.bin", Data: []byte("stored one")},
	}, mod)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := fakestac.BuildZip([]fakestac.ZipEntry{
		{Name: "P/a.txt", Data: []byte("version two, longer"), Deflate: true},
		{Name: "P/c.bin", Data: []byte("new")},
	}, mod.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := fakestac.New(fakestac.Options{})
	t.Cleanup(srv.Close)
	srv.AddCollection(fakestac.Collection{ID: "Z", Start: mod})
	const path = "/data/z/P.zip"
	srv.AddItem(fakestac.Item{ID: "P", Collection: "Z", Datetime: &mod,
		Assets: map[string]fakestac.Asset{"product": {Path: path, Content: v1, Type: "application/zip"}}})
	m := startMount(t, fmt.Sprintf("[cache]\nmemory = \"64MiB\"\nmetadata_ttl = \"1s\"\n\n[catalogs.fake]\nurl = %q\n", srv.STACURL))
	folder := filepath.Join(m.Dir, "Z/2024/03/05/P/P/P")
	if got := ls(t, folder); !reflect.DeepEqual(got, []string{"a.txt", "b.bin"}) {
		t.Fatalf("ls = %q", got)
	}
	if b, err := os.ReadFile(filepath.Join(folder, "a.txt")); err != nil || string(b) != "version one" {
		t.Fatalf("a.txt = %q, %v", b, err)
	}
	srv.SetAssetContent(path, v2)
	time.Sleep(2500 * time.Millisecond)
	if got := ls(t, folder); !reflect.DeepEqual(got, []string{"a.txt", "c.bin"}) {
		t.Errorf("after the archive changed: ls = %q", got)
	}
	for name, want := range map[string]string{"a.txt": "version two, longer", "c.bin": "new"} {
		if b, err := os.ReadFile(filepath.Join(folder, name)); err != nil || string(b) != want {
			t.Errorf("after the archive changed: %s = %q, %v; want %q", name, b, err, want)
		}
	}
}

// TestZarrV3Store: a Zarr v3 store (application/vnd.zarr; version=3) with
// consolidated metadata lists its default c/i/j chunk keys, and a chunk
// reads the server's bytes.
func TestZarrV3Store(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"zarr.json": `{"zarr_format": 3, "node_type": "group", "attributes": {}, "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": {
			"reflectance": {"zarr_format": 3, "node_type": "group", "attributes": {}},
			"reflectance/b04": {"zarr_format": 3, "node_type": "array", "shape": [4, 6], "data_type": "uint16",
				"chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
				"chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
				"fill_value": 0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}}}}`,
		"reflectance/zarr.json":     `{"zarr_format": 3, "node_type": "group", "attributes": {}}`,
		"reflectance/b04/zarr.json": `{"zarr_format": 3, "node_type": "array"}`,
		"reflectance/b04/c/0/0":     "chunk 0 0",
		"reflectance/b04/c/1/1":     "chunk 1 1",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mod := time.Date(2025, 5, 15, 10, 15, 59, 0, time.UTC)
	srv := fakestac.New(fakestac.Options{})
	t.Cleanup(srv.Close)
	const prefix = "/eopf/S2B_v3"
	if _, err := srv.AddStore(prefix, dir); err != nil {
		t.Fatal(err)
	}
	srv.AddCollection(fakestac.Collection{ID: "EOPF3", Start: mod})
	srv.AddItem(fakestac.Item{ID: "S2B_v3", Collection: "EOPF3", Datetime: &mod,
		Assets: map[string]fakestac.Asset{
			"product": {Href: srv.Href(prefix) + "/", Type: "application/vnd.zarr; version=3; profile=multiscales"},
		}})
	m := startMount(t, configFor(srv, ""))
	store := filepath.Join(m.Dir, "EOPF3/2025/05/15/S2B_v3/S2B_v3")
	lsR := lsRecursive(t, store)
	want := []string{"reflectance/", "reflectance/b04/", "reflectance/b04/c/",
		"reflectance/b04/c/0/", "reflectance/b04/c/0/0", "reflectance/b04/c/0/1",
		"reflectance/b04/c/1/", "reflectance/b04/c/1/0", "reflectance/b04/c/1/1",
		"reflectance/b04/zarr.json", "reflectance/zarr.json", "zarr.json"}
	if !reflect.DeepEqual(lsR, want) {
		t.Errorf("ls -R of the v3 store:\n%s\nwant:\n%s", strings.Join(lsR, "\n"), strings.Join(want, "\n"))
	}
	// Readers of one chunk at once share one request that fetches it whole.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b, err := os.ReadFile(filepath.Join(store, "reflectance/b04/c/0/0")); err != nil || string(b) != "chunk 0 0" {
				t.Errorf("chunk c/0/0: %q, %v", b, err)
			}
		}()
	}
	wg.Wait()
	if n := srv.Count(prefix + "/reflectance/b04/c/0/0"); n != 1 {
		t.Errorf("8 concurrent readers of one chunk made %d requests, want 1", n)
	}
	if b, err := os.ReadFile(filepath.Join(store, "reflectance/b04/c/1/1")); err != nil || string(b) != "chunk 1 1" {
		t.Errorf("chunk c/1/1: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(store, "reflectance/b04/c/0/1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("chunk the server lacks: %v, want ENOENT", err)
	}
}
