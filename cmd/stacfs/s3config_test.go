package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stacfs/stacfs/remote"
)

func TestS3ConfigErrors(t *testing.T) {
	t.Setenv("STACFS_TEST_S3_ID", "AKIDTEST")
	t.Setenv("STACFS_TEST_S3_SECRET", "secret-value-never-shown")
	t.Setenv("STACFS_TEST_EMPTY", "")
	const cat = "[catalogs.es]\nurl = \"https://earth-search.example/v1\"\n"
	checkConfigCases(t, []configCase{
		{"no s3 table", cat, ""},
		{"requester pays", cat + "[catalogs.es.s3]\nrequester_pays = true\n", ""},
		{"every key", cat + "prefer = [\"s3\", \"https\"]\n[catalogs.es.s3]\nrequester_pays = true\nregion = \"us-west-2\"\nendpoint = \"http://127.0.0.1:9000\"\n" +
			"access_key_id_env = \"STACFS_TEST_S3_ID\"\nsecret_access_key_env = \"STACFS_TEST_S3_SECRET\"\n", ""},
		{"profile", cat + "[catalogs.es.s3]\nprofile = \"work\"\n", ""},
		{"unknown key", cat + "[catalogs.es.s3]\nrequester_payz = true\n", `"catalogs.es.s3.requester_payz"`},
		{"bad prefer", cat + "prefer = [\"ftp\"]\n", `"catalogs.es.prefer"`},
		{"bad endpoint", cat + "[catalogs.es.s3]\nendpoint = \"s3.example.org\"\n", `"catalogs.es.s3.endpoint"`},
		{"endpoint with a path", cat + "[catalogs.es.s3]\nendpoint = \"https://s3.example.org/bucket\"\n", `"catalogs.es.s3.endpoint"`},
		{"only the key id", cat + "[catalogs.es.s3]\naccess_key_id_env = \"STACFS_TEST_S3_ID\"\n", `"catalogs.es.s3"`},
		{"unset variable", cat + "[catalogs.es.s3]\naccess_key_id_env = \"STACFS_TEST_S3_ID\"\nsecret_access_key_env = \"STACFS_TEST_EMPTY\"\n",
			`"catalogs.es.s3.secret_access_key_env"`},
		{"anonymous and requester pays", cat + "[catalogs.es.s3]\nanonymous = true\nrequester_pays = true\n", `"catalogs.es.s3.anonymous"`},
		{"anonymous and a profile", cat + "[catalogs.es.s3]\nanonymous = true\nprofile = \"x\"\n", `"catalogs.es.s3.anonymous"`},
		{"profile and keys", cat + "[catalogs.es.s3]\nprofile = \"x\"\naccess_key_id_env = \"STACFS_TEST_S3_ID\"\nsecret_access_key_env = \"STACFS_TEST_S3_SECRET\"\n",
			`"catalogs.es.s3.profile"`},
	})
}

func TestS3ConfigResolved(t *testing.T) {
	t.Setenv("STACFS_TEST_S3_ID", "AKIDTEST")
	t.Setenv("STACFS_TEST_S3_SECRET", "secret-value-never-shown")
	cfg, err := ParseConfig("c.toml", `
[catalogs.plain]
url = "https://h/stac"

[catalogs.rp]
url = "https://h/stac"
[catalogs.rp.s3]
requester_pays = true

[catalogs.store]
url = "https://h/stac"
prefer = ["s3", "https"]
[catalogs.store.s3]
endpoint = "https://eodata.example/"
region = "default"
access_key_id_env = "STACFS_TEST_S3_ID"
secret_access_key_env = "STACFS_TEST_S3_SECRET"
`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		want   remote.S3Config
		prefer []string
	}{
		{"plain", remote.S3Config{}, []string{"https", "s3", "gs"}},
		{"rp", remote.S3Config{RequesterPays: true}, nil},
		{"store", remote.S3Config{Endpoint: "https://eodata.example", Region: "default", AccessKeyID: "AKIDTEST", SecretAccessKey: "secret-value-never-shown"},
			[]string{"s3", "https"}},
	}
	for _, tt := range tests {
		cc := cfg.Catalogs[tt.name]
		if got := cc.s3Config(); got != tt.want {
			t.Errorf("%s: s3Config = %+v, want %+v", tt.name, got, tt.want)
		}
		if got := cc.hrefPrefer(); !reflect.DeepEqual(got, tt.prefer) {
			t.Errorf("%s: hrefPrefer = %v, want %v", tt.name, got, tt.prefer)
		}
	}
}

// TestS3ConfigExample: the commented s3 example of config.toml.example parses.
func TestS3ConfigExample(t *testing.T) {
	raw, err := os.ReadFile("../../config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(raw), "# [catalogs.earth-search-l1c]\n")
	if !ok {
		t.Fatal("no s3 example in config.toml.example")
	}
	var text strings.Builder
	text.WriteString("[catalogs.earth-search-l1c]\n")
	for _, line := range strings.Split(block, "\n") {
		if !strings.HasPrefix(line, "# ") {
			break
		}
		text.WriteString(strings.TrimPrefix(line, "# ") + "\n")
	}
	cfg, err := ParseConfig("config.toml.example", text.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, text.String())
	}
	if cc := cfg.Catalogs["earth-search-l1c"]; cc.S3 == nil || !cc.s3Config().RequesterPays {
		t.Errorf("the example does not set requester pays:\n%s", text.String())
	}
}
