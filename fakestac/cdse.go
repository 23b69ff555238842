package fakestac

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Copernicus Data Space scenario constants.
const (
	CDSERealm      = "CDSE"
	CDSEClientID   = "cdse-public"
	CDSECollection = "sentinel-2-l2a"
	cdseBucket     = "eodata"
)

// CDSEOptions configures NewCDSE. The zero value is usable.
type CDSEOptions struct {
	// AccessTTL and RefreshTTL are the token lifetimes (default 600 s and 3600 s, as CDSE).
	AccessTTL, RefreshTTL time.Duration
	// TOTPSecret, when set (base32), makes the password grant need a totp field with the
	// current (or previous) RFC 6238 code of it, as an account with two-factor sign-in.
	TOTPSecret string
	// MaxConcurrent is how many requests the zipper and download hosts each serve at once
	// before answering 429 (default 4, CDSE's quota per user).
	MaxConcurrent int
	// S3 also serves the per-file assets from an S3 fake, bucket eodata in region
	// "default", to the keys S3AccessKey/S3SecretKey (as from the CDSE S3 key manager).
	S3 bool
}

// CDSE emulates the Copernicus Data Space Ecosystem: an anonymous STAC API whose
// per-file assets have s3://eodata/... hrefs with an "https" alternate on the zipper host
// (OData Nodes(...)/$value, bearer token required: 401 without), a Product asset on the
// download host (bearer required) that redirects to a storage node on another origin,
// and a Keycloak realm CDSE with the public client cdse-public (password grant, rotating
// refresh tokens that lapse after RefreshTTL). The zipper and download hosts answer 429
// (Retry-After: 1) beyond MaxConcurrent requests in flight.
//
// Collection sentinel-2-l2a holds two products; each has B04 (a real COG, file:size) and
// SCL (3 MiB ramp bytes, seed 31 and 32) under
// <ID>.SAFE/GRANULE/L2A_T31UFS_<date>/IMG_DATA/R10m|R20m/, and Product (a zip).
type CDSE struct {
	STAC                   *Server
	Token                  *TokenServer
	Zipper, Download, Node *Server
	// STACURL is the landing page, TokenURL the realm's token endpoint.
	STACURL, TokenURL string
	// Username and Password are the user's credentials.
	Username, Password string
	// Items lists the product ids; Hrefs maps "<item>/<asset>" to the https href the
	// mount reads (the zipper alternate, or the Product's download URL), S3 to the s3://
	// href.
	Items []string
	Hrefs map[string]string
	S3    map[string]string
	// Store is the S3 endpoint (with CDSEOptions.S3), and S3AccessKey, S3SecretKey its keys.
	Store                    *S3
	S3AccessKey, S3SecretKey string
}

// NewCDSE starts the CDSE scenario.
func NewCDSE(o CDSEOptions) *CDSE {
	if o.AccessTTL <= 0 {
		o.AccessTTL = 600 * time.Second
	}
	if o.RefreshTTL <= 0 {
		o.RefreshTTL = 3600 * time.Second
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 4
	}
	c := &CDSE{
		STAC:     New(Options{Paging: PagingToken, Prefix: "/v1", NumberMatched: true}),
		Zipper:   New(Options{AssetsOnly: true}),
		Download: New(Options{AssetsOnly: true}),
		Node:     New(Options{AssetsOnly: true}),
		Username: "user@example.org",
		Password: "cdse-pw-" + randHex(6),
		Hrefs:    map[string]string{},
		S3:       map[string]string{},
	}
	c.Token = NewTokenServer(TokenOptions{
		Realm: CDSERealm, BasePath: "/auth", AccessTTL: o.AccessTTL, RefreshTTL: o.RefreshTTL, Rotate: true,
		Clients: map[string]string{CDSEClientID: ""}, Users: map[string]string{c.Username: c.Password},
		Scope: "AUDIENCE_PUBLIC openid email profile user-context",
	})
	if o.TOTPSecret != "" {
		secret := o.TOTPSecret
		c.Token.Server.AddGuard("/", func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("grant_type") != GrantPassword {
				return false
			}
			now := time.Now()
			got := r.PostForm.Get("totp")
			if got != "" && (got == TOTPCode(secret, now) || got == TOTPCode(secret, now.Add(-30*time.Second))) {
				return false
			}
			oauthError(w, http.StatusUnauthorized, "invalid_grant", "Invalid user credentials")
			return true
		})
	}
	c.STACURL, c.TokenURL = c.STAC.STACURL, c.Token.URL()
	if o.S3 {
		c.Store = NewS3()
		c.S3AccessKey, c.S3SecretKey = "CDSEKEY"+strings.ToUpper(randHex(6)), "cdse-s3-"+randHex(16)
		c.Store.AddKey(c.S3AccessKey, c.S3SecretKey)
		c.Store.AddBucket(cdseBucket, S3Bucket{Region: "default"})
	}
	for _, s := range []*Server{c.Zipper, c.Download} {
		s.RequireBearer(c.Token, "/odata/", Answer401)
		s.SetMaxConcurrent(o.MaxConcurrent)
	}
	c.STAC.AddCollection(Collection{ID: CDSECollection, Title: "Sentinel-2 Level-2A",
		Start: time.Date(2015, 7, 4, 0, 0, 0, 0, time.UTC), Bbox: bbox31UFS})
	for i, when := range []string{"20240612T104631", "20240615T105619"} {
		day, _ := time.Parse("20060102T150405", when)
		id := fmt.Sprintf("S2%c_MSIL2A_%s_N0510_R051_T31UFS_%s", 'A'+i, when, day.Add(7*time.Hour).Format("20060102T150405"))
		uuid := fmt.Sprintf("4f1c%04x-7b2e-4c9a-9d3e-0a1b2c3d4e%02x", i, i)
		safe := id + ".SAFE"
		granule := "L2A_T31UFS_A0468" + fmt.Sprint(30+i) + "_" + when
		files := map[string]Asset{
			"B04": {Content: demoB04, FileSize: true, Type: cogType, Roles: []string{"data"}},
			"SCL": {Size: 3 << 20, Seed: 31 + i, Roles: []string{"data"}},
		}
		rel := map[string][]string{
			"B04": {"GRANULE", granule, "IMG_DATA", "R10m", "T31UFS_" + when + "_B04_10m.tif"},
			"SCL": {"GRANULE", granule, "IMG_DATA", "R20m", "T31UFS_" + when + "_SCL_20m.bin"},
		}
		assets := map[string]Asset{}
		for k, a := range files {
			nodes := "/odata/v1/Products(" + uuid + ")/Nodes(" + safe + ")"
			for _, seg := range rel[k] {
				nodes += "/Nodes(" + seg + ")"
			}
			served := a
			served.Path = nodes + "/$value"
			c.Zipper.AddAsset(served)
			a.Href = "s3://" + cdseBucket + "/Sentinel-2/MSI/L2A_N0500/" + day.Format("2006/01/02") + "/" + safe + "/" + strings.Join(rel[k], "/")
			a.Alternates = map[string]string{"https": c.Zipper.URL + served.Path}
			assets[k] = a
			c.Hrefs[id+"/"+k] = c.Zipper.URL + served.Path
			c.S3[id+"/"+k] = a.Href
			if c.Store != nil {
				c.Store.PutObject(cdseBucket, strings.TrimPrefix(a.Href, "s3://"+cdseBucket+"/"), files[k])
			}
		}
		product, err := zipProduct(id, day, map[string][]byte{safe + "/manifest.safe": []byte("<manifest/>\n")}, []string{safe + "/manifest.safe"})
		if err != nil {
			panic(err)
		}
		c.Node.AddAsset(Asset{Path: "/node/" + uuid + ".zip", Content: product})
		dl := "/odata/v1/Products(" + uuid + ")/$value"
		c.Download.Handle("GET "+dl, http.RedirectHandler(c.Node.URL+"/node/"+uuid+".zip", http.StatusFound))
		assets["Product"] = Asset{Href: c.Download.URL + dl, Content: product, FileSize: true, Type: "application/zip", Roles: []string{"data"}}
		c.Hrefs[id+"/Product"] = c.Download.URL + dl
		c.STAC.AddItem(Item{ID: id, Collection: CDSECollection, Datetime: &day, Bbox: bbox31UFS,
			Properties: map[string]any{"platform": "sentinel-2" + string(rune('a'+i)), "product:type": "S2MSI2A"},
			Assets:     assets})
		c.Items = append(c.Items, id)
	}
	return c
}

// Close shuts every origin down.
func (c *CDSE) Close() {
	c.STAC.Close()
	c.Token.Close()
	c.Zipper.Close()
	c.Download.Close()
	c.Node.Close()
	if c.Store != nil {
		c.Store.Close()
	}
}

// Logs returns the request logs of the STAC API ("stac"), the token server ("token"), the
// zipper ("zipper"), the download host ("download"), the storage node ("node") and the
// S3 endpoint ("s3", with CDSEOptions.S3).
func (c *CDSE) Logs() []ServerLog {
	logs := []ServerLog{logOf("stac", c.STAC), logOf("token", c.Token.Server), logOf("zipper", c.Zipper),
		logOf("download", c.Download), logOf("node", c.Node)}
	if c.Store != nil {
		logs = append(logs, logOf("s3", c.Store.Server))
	}
	return logs
}

// TOTPCode returns the RFC 6238 code (SHA-1, 30 s, 6 digits) of a base32 secret at t.
func TOTPCode(secret string, t time.Time) string {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		return ""
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(t.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	h := m.Sum(nil)
	off := h[len(h)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(h[off:off+4])&0x7fffffff)%1_000_000)
}
