package tests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stacfs/stacfs/fakestac"
)

func ls(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ls %s: %v", dir, err)
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
		if e.IsDir() {
			names[i] += "/"
		}
	}
	return names
}

func TestTree(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	cases := []struct {
		dir  string
		want []string
	}{
		{"", []string{"EMPTY/", "EOP:ESA:BIO/", "S2/"}},
		{"EMPTY", []string{"collection.json"}},
		{"S2", []string{"2023/", "2024/", "collection.json"}},
		{"S2/2023", []string{"03/"}},
		{"S2/2023/03", []string{"15/"}},
		{"S2/2023/03/15", []string{"S2A_20230315_a/", "S2B_20230315_b/"}},
		{"S2/2024", []string{"01/", "02/", "06/"}},
		{"S2/2024/02", []string{"10/"}},
		{"S2/2024/02/10", []string{"S2_null_dt/"}},
		{"S2/2024/06/07", []string{"S2_page_00/", "S2_page_01/", "S2_page_02/", "S2_page_03/", "S2_page_04/", "S2_page_05/", "S2_page_06/", "S2_page_07/", "S2_page_08/", "S2_page_09/", "S2_page_10/", "S2_page_11/"}},
		{"S2/2023/03/15/S2A_20230315_a", []string{"B04.tif", "B08.tif", "item.json", "thumb.png"}},
		{"EOP:ESA:BIO/2023", []string{"05/"}},
		// The L2 product overlaps 1..20 May but is placed on its start day only.
		{"EOP:ESA:BIO/2023/05", []string{"01/", "05/"}},
		{"EOP:ESA:BIO/2023/05/01", []string{"BIO_L2A_0501/"}},
		{"EOP:ESA:BIO/2023/05/05", []string{"BIO_L1B_0505/"}},
		{"EOP:ESA:BIO/2023/05/05/BIO_L1B_0505", []string{"BIO_L1B_0505.zip", "annotation/", "item.json", "measurement/", "preview/"}},
		{"EOP:ESA:BIO/2023/05/05/BIO_L1B_0505/measurement", []string{"bio_abs.tiff"}},
		{"EOP:ESA:BIO/2023/05/05/BIO_L1B_0505/annotation", []string{"bio_annot.xml"}},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			got := ls(t, filepath.Join(m.Dir, c.dir))
			if !reflect.DeepEqual(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("ls %s = %q, want %q", c.dir, got, c.want)
			}
		})
	}
	for _, missing := range []string{"S2/2022", "S2/2023/04", "S2/2023/03/16", "S2/abc", "S2/2023/03/15/nope", "S2/2023/03/15/S2A_20230315_a/B04.tif.aux.xml"} {
		if _, err := os.Stat(filepath.Join(m.Dir, missing)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stat %s: %v, want ENOENT", missing, err)
		}
	}
}

// gdalProbes are names GDAL looks up beside a raster X.tif when it opens
// it (sidecars: auxiliary metadata, overviews, masks, world files, RPCs,
// imagery metadata), none of which a STAC item holds.
var gdalProbes = []string{
	"%s.aux.xml", "%s.AUX.XML", "%s.ovr", "%s.OVR", "%s.msk", "%s.MSK",
	"%s.xml", "%s.aux", "%s.imd", "%s.IMD", "%s.rpb", "%s.RPB",
	"%s.tfw", "%s.TFW", "%s.tifw", "%s.TIFW", "%s.wld", "%s.WLD",
	"%s.prj", "%s.PRJ", "%s.tab", "%s.TAB", "%s.vrt", "%s.hdr",
	"%s_rpc.txt", "%s_RPC.TXT", "%s.pvl", "%s.PVL", "%s.att", "%s.eph",
	"%[2]s.aux", "%[2]s.AUX", "%[2]s.tfw", "%[2]s.TFW", "%[2]s.tifw", "%[2]s.wld",
	"%[2]s.WLD", "%[2]s.prj", "%[2]s.PRJ", "%[2]s.imd", "%[2]s.IMD", "%[2]s.rpb",
	"%[2]s.RPB", "%[2]s_rpc.txt", "%[2]s_RPC.TXT", "%[2]s.xml", "%[2]s.XML", "%[2]s.til",
	"%[2]s.TIL", "%[2]s_metadata.xml", "%[2]s.MTD", "%[2]s.ovr",
}

// TestNoRequestsForListingsAndProbes: once an item's day is known, listing
// the item folder, stating assets whose size the item tells, and looking up
// the sidecar names GDAL probes (twice: the second round is answered by the
// kernel's negative entries) reach no server.
func TestNoRequestsForListingsAndProbes(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	item := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a")
	if _, err := os.Stat(item); err != nil {
		t.Fatal(err)
	}
	f.srv.Reset()
	names := ls(t, item)
	if want := []string{"B04.tif", "B08.tif", "item.json", "thumb.png"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("ls %s = %q, want %q", item, names, want)
	}
	for _, name := range []string{"B04.tif", "thumb.png", "item.json"} { // file:size known
		if _, err := os.Stat(filepath.Join(item, name)); err != nil {
			t.Fatal(err)
		}
	}
	probes := 0
	for round := range 2 {
		for _, asset := range []string{"B04.tif", "B08.tif"} {
			for _, p := range gdalProbes {
				name := fmt.Sprintf(p, asset, strings.TrimSuffix(asset, ".tif"))
				if _, err := os.Stat(filepath.Join(item, name)); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("round %d: stat %s: %v, want ENOENT", round, name, err)
				}
				probes++
			}
		}
	}
	if reqs := f.srv.Requests(); len(reqs) != 0 {
		t.Fatalf("listing the item and %d sidecar lookups made %d requests, want none; first: %s %s", probes, len(reqs), reqs[0].Method, reqs[0].Path)
	}
	// The asset without file:size was listed by name only: stating it asks
	// the server once (a ranged GET of its head), and then it is known.
	for range 2 {
		fi, err := os.Stat(filepath.Join(item, "B08.tif"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != smallSize {
			t.Fatalf("B08.tif: size %d, want %d", fi.Size(), smallSize)
		}
	}
	if reqs := f.srv.Requests(); len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Range == "" {
		t.Fatalf("stating B08.tif twice made %d requests (%v), want one ranged GET", len(reqs), reqs)
	}
}

func TestAttributes(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	item := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a")
	cases := []struct {
		path string
		size int64
		mode os.FileMode
		time time.Time
	}{
		{item + "/B04.tif", bigSize, 0o444, *f.items["S2A_20230315_a"].Datetime},
		{item + "/B08.tif", smallSize, 0o444, *f.items["S2A_20230315_a"].Datetime}, // no file:size: a ranged GET of its head
		{item + "/thumb.png", 50 << 10, 0o444, *f.items["S2A_20230315_a"].Datetime},
		{item, -1, os.ModeDir | 0o555, *f.items["S2A_20230315_a"].Datetime},
		{filepath.Join(m.Dir, "S2/2024/02/10/S2_null_dt"), -1, os.ModeDir | 0o555, *f.items["S2_null_dt"].Start},
		{filepath.Join(m.Dir, "S2/2023/03"), -1, os.ModeDir | 0o555, *ts("2023-03-01T00:00:00Z")},
	}
	for _, c := range cases {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if c.size >= 0 && fi.Size() != c.size {
			t.Errorf("%s: size %d, want %d", c.path, fi.Size(), c.size)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
		if !fi.ModTime().Equal(c.time) {
			t.Errorf("%s: mtime %v, want %v", c.path, fi.ModTime().UTC(), c.time)
		}
	}
	// Inode numbers are stable.
	ino := func(p string) uint64 {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	if a, b := ino(item+"/B04.tif"), ino(item+"/B08.tif"); a == b || a != ino(item+"/B04.tif") {
		t.Errorf("inode numbers not stable/unique: %d %d", a, b)
	}
}

func TestItemJSON(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	p := filepath.Join(m.Dir, "S2/2024/02/10/S2_null_dt/item.json")
	g := sameJSONAsAPI(t, p, f.srv.STACURL+"collections/S2/items/S2_null_dt")
	if p := g["properties"].(map[string]any); p["datetime"] != nil {
		t.Errorf("datetime = %v, want null as the API returned it", p["datetime"])
	}
	// One line of JSON and a newline, as text files end; the size counts it.
	b, _ := os.ReadFile(p)
	fi, err := os.Stat(p)
	if err != nil || !bytes.HasSuffix(b, []byte("}\n")) || bytes.Count(b, []byte("\n")) != 1 || fi.Size() != int64(len(b)) {
		t.Errorf("item.json: %d bytes, size %d (%v), ends %q", len(b), fi.Size(), err, b[max(0, len(b)-8):])
	}
}

// dataGETs counts ranged GETs of asset bytes.
func dataGETs(srv *fakestac.Server, path string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet && strings.HasPrefix(r.Path, path) {
			n++
		}
	}
	return n
}

func TestContent(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	item := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a")
	files := []struct {
		name string
		seed int
		size int64
	}{
		{"B04.tif", 1, bigSize},
		{"B08.tif", 2, smallSize},
		{"thumb.png", 3, 50 << 10}, // the server ignores Range
	}
	for _, c := range files {
		t.Run(c.name, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(item, c.name))
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(got) != sha256.Sum256(ramp(c.seed, 0, c.size)) {
				t.Fatalf("sha256 of %s differs (len %d, want %d)", c.name, len(got), c.size)
			}
			// cp, a real client, as a separate process.
			dst := filepath.Join(t.TempDir(), c.name)
			run(t, "cp", filepath.Join(item, c.name), dst)
			if b, _ := os.ReadFile(dst); !bytes.Equal(b, got) {
				t.Fatal("cp copy differs")
			}
		})
	}
	t.Run("random ranges", func(t *testing.T) {
		fh, err := os.Open(filepath.Join(m.Dir, "S2/2023/03/15/S2B_20230315_b/B04.tif"))
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		rng := rand.New(rand.NewPCG(1, 2))
		for range 300 {
			off := rng.Int64N(bigSize)
			n := 1 + rng.Int64N(300<<10)
			buf := make([]byte, n)
			k, err := fh.ReadAt(buf, off)
			if err != nil && err != io.EOF {
				t.Fatalf("ReadAt(%d, %d): %v", off, n, err)
			}
			if want := min(n, bigSize-off); int64(k) != want {
				t.Fatalf("ReadAt(%d, %d) = %d bytes, want %d", off, n, k, want)
			}
			if !bytes.Equal(buf[:k], ramp(11, off, int64(k))) {
				t.Fatalf("ReadAt(%d, %d): wrong bytes", off, n)
			}
		}
	})
}

// rangeGETs counts the GETs under path whose Range covers offset off.
func rangeGETs(srv *fakestac.Server, path string, off int64) int {
	n := 0
	for _, r := range srv.Requests() {
		var a, b int64
		if r.Method != http.MethodGet || !strings.HasPrefix(r.Path, path) {
			continue
		}
		if _, err := fmt.Sscanf(r.Range, "bytes=%d-%d", &a, &b); err == nil && a <= off && off <= b {
			n++
		}
	}
	return n
}

// settledGETs waits until the kernel's asynchronous read-ahead has stopped
// reaching the server, then counts data GETs.
func settledGETs(srv *fakestac.Server, path string) int {
	n := dataGETs(srv, path)
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		m := dataGETs(srv, path)
		if m == n {
			return n
		}
		n = m
	}
	return n
}

// dropPageCache asks the kernel to forget a file's cached pages, so the next
// read reaches stacfs.
func dropPageCache(t *testing.T, path string) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := unix.Fadvise(int(fh.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
}

func TestSecondReadFromCache(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	path := filepath.Join(m.Dir, "S2/2024/01/01/S2A_20240101_c/B04.tif")
	read := func() []byte {
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		buf := make([]byte, 700<<10)
		if _, err := fh.ReadAt(buf, 1<<20); err != nil {
			t.Fatal(err)
		}
		return buf
	}
	first := read()
	before := settledGETs(f.srv, "/data/")
	if before == 0 {
		t.Fatal("the first read made no request")
	}
	dropPageCache(t, path)
	second := read()
	if after := dataGETs(f.srv, "/data/"); after != before {
		t.Errorf("second read of the same range made %d requests, want 0", after-before)
	}
	if !bytes.Equal(first, second) || !bytes.Equal(first, ramp(21, 1<<20, 700<<10)) {
		t.Error("wrong bytes")
	}
}

func TestConcurrentReadersShareOneRequest(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	path := filepath.Join(m.Dir, "S2/2024/06/07/S2_page_03/B04.tif")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	before := dataGETs(f.srv, "/data/")
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fh, err := os.Open(path)
			if err != nil {
				errs <- err
				return
			}
			defer fh.Close()
			<-start
			buf := make([]byte, 4096)
			if _, err := fh.ReadAt(buf, 2<<20); err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(buf, ramp(103, 2<<20, 4096)) {
				errs <- errors.New("wrong bytes")
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The kernel may read ahead on its own; what matters is that the block
	// the readers share was asked for once.
	if n := rangeGETs(f.srv, "/data/", 2<<20); n != 1 {
		t.Errorf("8 concurrent readers of one block: %d requests covered it, want 1 (%d requests in all)", n, dataGETs(f.srv, "/data/")-before)
	}
}

func TestReadOnly(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	item := filepath.Join(m.Dir, "S2/2023/03/15/S2A_20230315_a")
	checks := map[string]error{
		"write":  os.WriteFile(item+"/B04.tif", []byte("x"), 0o644),
		"create": os.WriteFile(item+"/new.txt", []byte("x"), 0o644),
		"mkdir":  os.Mkdir(item+"/sub", 0o755),
		"remove": os.Remove(item + "/B08.tif"),
		"rename": os.Rename(item+"/B08.tif", item+"/B09.tif"),
		"chmod":  os.Chmod(item+"/B04.tif", 0o666),
		"json":   os.WriteFile(item+"/item.json", []byte("{}"), 0o644),
	}
	for op, err := range checks {
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s: %v, want EROFS", op, err)
		}
	}
}

func TestFSTest(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	// Go's own file system conformance test over a whole collection
	// (sub-folders, a stream of unknown length). fstest reads every file many
	// ways, so the collection's files are small.
	root := filepath.Join(m.Dir, "EOP:ESA:BIO")
	// A stream's size is learnt at its first stat (docs/semantics.md), so
	// fstest's stat calls of the same file agree. Check that the first
	// stat of each stream (the zips) gives the bytes a read gets.
	streams := 0
	err := filepath.WalkDir(root, func(p string, d iofs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".zip") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if info.Size() != int64(len(b)) {
			return fmt.Errorf("%s: size %d at the first stat, %d bytes read", p, info.Size(), len(b))
		}
		streams++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if streams == 0 {
		t.Fatal("no stream of unknown length in the collection: the test no longer covers one")
	}
	if err := fstest.TestFS(os.DirFS(root),
		"2023/05/05/BIO_L1B_0505/measurement/bio_abs.tiff", "2023/05/01/BIO_L2A_0501/item.json"); err != nil {
		t.Fatal(err)
	}
}

func TestPagingStyles(t *testing.T) {
	styles := []struct {
		name string
		o    fakestac.Options
	}{
		{"token GET", fakestac.Options{Paging: fakestac.PagingToken, SearchGET: true}},
		{"startRecord GET", fakestac.Options{Paging: fakestac.PagingStartRecord, SearchGET: true, NumberMatched: true}},
		{"POST body", fakestac.Options{Paging: fakestac.PagingPOSTBody, SearchPOST: true}},
		{"POST merge", fakestac.Options{Paging: fakestac.PagingPOSTMerge, SearchPOST: true}},
		{"POST full", fakestac.Options{Paging: fakestac.PagingPOSTFull, SearchPOST: true}},
	}
	for _, s := range styles {
		t.Run(s.name, func(t *testing.T) {
			o := s.o
			o.CollectionPage = 1
			o.MaxLimit = 5
			f := newFixture(t, o)
			m := startMount(t, configFor(f.srv, ""))
			if got := ls(t, m.Dir); len(got) != 3 {
				t.Errorf("collections over 3 pages: %q", got)
			}
			if got := ls(t, filepath.Join(m.Dir, "S2/2024/06/07")); len(got) != 12 {
				t.Errorf("items over pages of 5: got %d: %q", len(got), got)
			}
		})
	}
}

func TestListingsCached(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	walk := func() []string {
		var paths []string
		err := filepath.WalkDir(filepath.Join(m.Dir, "S2"), func(p string, d os.DirEntry, err error) error {
			paths = append(paths, p)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(paths)
		return paths
	}
	first := walk()
	n := f.srv.Count("/stac")
	second := walk()
	if d := f.srv.Count("/stac") - n; d != 0 {
		t.Errorf("second walk made %d STAC requests, want 0", d)
	}
	if !reflect.DeepEqual(first, second) {
		t.Error("listings differ between walks")
	}
}

func TestConfiguredCollections(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, `collections = ["EOP:ESA:BIO"]`))
	if got := ls(t, m.Dir); !reflect.DeepEqual(got, []string{"EOP:ESA:BIO/"}) {
		t.Errorf("root = %q", got)
	}
}

func TestAllCatalogsAtRoot(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	g := newFixture(t, fakestac.Options{})
	cfg := configFor(f.srv, "") + "\n[catalogs.other]\nurl = \"" + g.srv.STACURL + "\"\n"
	m := startMount(t, cfg, "--log-level", "info")
	if got := ls(t, m.Dir); !reflect.DeepEqual(got, []string{"fake/", "other/"}) {
		t.Errorf("root = %q", got)
	}
	if got := ls(t, filepath.Join(m.Dir, "other/S2/2023/03/15")); len(got) != 2 {
		t.Errorf("other/S2/2023/03/15 = %q", got)
	}
}

func TestExternalUnmount(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	m := startMount(t, configFor(f.srv, ""))
	ls(t, m.Dir)
	if err := syscall.Unmount(m.Dir, 0); err != nil {
		t.Fatal(err)
	}
	if exited, err := m.waitExit(10 * time.Second); !exited {
		t.Fatal("stacfs did not exit after an external unmount")
	} else if err != nil {
		t.Fatalf("exit after external unmount: %v", err)
	}
}

func TestStreamWithoutLength(t *testing.T) {
	f := newFixture(t, fakestac.Options{})
	// The first transfer of the zip is cut short: the stream starts again
	// and the reader never sees the cut.
	var once sync.Once
	f.srv.SetFault(func(r *http.Request) *fakestac.Fault {
		var fault *fakestac.Fault
		if strings.HasPrefix(r.URL.Path, "/data/zipper/") && r.Method == http.MethodGet && r.Header.Get("Range") == "" {
			once.Do(func() { fault = &fakestac.Fault{ShortBody: true} })
		}
		return fault
	})
	m := startMount(t, configFor(f.srv, ""))
	zip := filepath.Join(m.Dir, "EOP:ESA:BIO/2023/05/05/BIO_L1B_0505/BIO_L1B_0505.zip")
	dst := filepath.Join(t.TempDir(), "p.zip")
	run(t, "cp", zip, dst)
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, ramp(203, 0, 9000)) {
		t.Fatalf("cp of a stream without length: %d bytes, want 9000 byte-exact", len(got))
	}
	streams := 0
	for _, r := range f.srv.Requests() {
		if r.Method == http.MethodGet && strings.HasPrefix(r.Path, "/data/zipper/") && r.Range == "" {
			streams++
		}
	}
	if streams != 2 {
		t.Errorf("%d whole GETs of the zip, want 2 (one cut short, one whole)", streams)
	}
	// Once read whole, its size is known at once.
	if fi, err := os.Stat(zip); err != nil || fi.Size() != 9000 {
		t.Fatalf("stat right after a whole read: %v, want size 9000", statSize(fi, err))
	}
}

// statSize describes a stat's answer: its size, or its error.
func statSize(fi os.FileInfo, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("size %d", fi.Size())
}

// TestMmap: asset files open with direct I/O, and memory maps still read
// the right bytes, shared and private.
//
// The maps are read by another process: a page fault on the mount blocks its
// thread in the kernel outside any system call, where Go's stop-the-world
// cannot stop it, so a garbage collection in this process would freeze the
// fake server the fault waits for (stacfs fetches the page from it): a
// deadlock that hung CI.
func TestMmap(t *testing.T) {
	requireTool(t, "python3")
	mounted, local, _ := demoCOG(t)
	want, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(want)
	const script = `import hashlib, mmap, sys
with open(sys.argv[1], "rb") as f:
    m = mmap.mmap(f.fileno(), int(sys.argv[2]), flags=getattr(mmap, sys.argv[3]), prot=mmap.PROT_READ)
    print(hashlib.sha256(m).hexdigest())
    m.close()`
	for _, flags := range []string{"MAP_SHARED", "MAP_PRIVATE"} {
		t.Run(flags, func(t *testing.T) {
			out, err := clientCommand(t, "python3", "-c", script, mounted, strconv.Itoa(len(want)), flags).CombinedOutput()
			if err != nil {
				t.Fatalf("python3 mmap: %v: %s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != hex.EncodeToString(sum[:]) {
				t.Fatalf("mapped bytes differ from the file: sha256 %s, want %x", got, sum)
			}
		})
	}
}
