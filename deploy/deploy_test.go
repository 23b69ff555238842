// Package deploy holds the Kubernetes manifests of docs/kubernetes.md; its
// test parses every manifest and checks what a FUSE DaemonSet with a
// shared cache needs.
package deploy

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"sigs.k8s.io/yaml"
)

// object is one parsed manifest.
type object map[string]any

// get walks a path of map keys and list indexes ("spec", "containers", 0).
func (o object) get(path ...any) any {
	var v any = map[string]any(o)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func (o object) str(path ...any) string { s, _ := o.get(path...).(string); return s }

func (o object) list(path ...any) []object {
	l, _ := o.get(path...).([]any)
	var out []object
	for _, v := range l {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// manifests parses every YAML file of the folder, by kind/name.
func manifests(t *testing.T) (map[string]object, []string) {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	objs := map[string]object{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(b), "\n---\n") {
			var o object
			if err := yaml.UnmarshalStrict([]byte(doc), &o); err != nil {
				t.Fatalf("%s, document %d: %v", f, i+1, err)
			}
			if o.str("apiVersion") == "" || o.str("kind") == "" {
				t.Fatalf("%s, document %d: no apiVersion or kind", f, i+1)
			}
			if o.str("kind") == "Kustomization" {
				continue
			}
			if o.str("metadata", "name") == "" {
				t.Fatalf("%s, document %d: no metadata.name", f, i+1)
			}
			objs[o.str("kind")+"/"+o.str("metadata", "name")] = o
		}
	}
	return objs, files
}

func must(t *testing.T, objs map[string]object, id string) object {
	t.Helper()
	o, ok := objs[id]
	if !ok {
		t.Fatalf("no %s", id)
	}
	return o
}

// volumeMount returns the container's mount of the named volume.
func volumeMount(c object, name string) object {
	for _, m := range c.list("volumeMounts") {
		if m.str("name") == name {
			return m
		}
	}
	return nil
}

// volumeFor returns the volume mounted at path in container c of pod spec.
func volumeFor(spec, c object, path string) (object, object) {
	for _, m := range c.list("volumeMounts") {
		if m.str("mountPath") == path {
			for _, v := range spec.list("volumes") {
				if v.str("name") == m.str("name") {
					return v, m
				}
			}
		}
	}
	return nil, nil
}

func TestManifests(t *testing.T) {
	objs, files := manifests(t)

	// The DaemonSet: privileged, /dev/fuse, the mount on a host path with
	// Bidirectional propagation, config from the ConfigMap, the password
	// from the Secret.
	ds := must(t, objs, "DaemonSet/stacfs")
	spec := object(ds.get("spec", "template", "spec").(map[string]any))
	cs := spec.list("containers")
	if len(cs) != 1 {
		t.Fatalf("DaemonSet: %d containers, want 1", len(cs))
	}
	c := cs[0]
	if c.get("securityContext", "privileged") != true {
		t.Error("DaemonSet: container not privileged")
	}
	fuse, _ := volumeFor(spec, c, "/dev/fuse")
	if fuse == nil || fuse.str("hostPath", "path") != "/dev/fuse" || fuse.str("hostPath", "type") != "CharDevice" {
		t.Errorf("DaemonSet: /dev/fuse volume = %v", fuse)
	}
	args := c.get("args").([]any)
	mountDir := args[len(args)-1].(string)
	mnt, mntMount := volumeFor(spec, c, mountDir)
	if mnt == nil || mntMount.str("mountPropagation") != "Bidirectional" || mnt.str("hostPath", "path") == "" {
		t.Fatalf("DaemonSet: the mount folder %s is not a host path with Bidirectional propagation (%v, %v)", mountDir, mnt, mntMount)
	}
	hostPath := mnt.str("hostPath", "path")
	cfgVol, _ := volumeFor(spec, c, "/etc/stacfs")
	cfgFlag := slices.Index(args, any("--config"))
	if cfgVol == nil || cfgFlag < 0 || !strings.HasPrefix(args[cfgFlag+1].(string), "/etc/stacfs/") {
		t.Fatalf("DaemonSet: no config volume at /etc/stacfs for --config (%v)", args)
	}
	cm := must(t, objs, "ConfigMap/"+cfgVol.str("configMap", "name"))
	cfgFile := strings.TrimPrefix(args[cfgFlag+1].(string), "/etc/stacfs/")

	// The config: valid TOML with a [cache.shared] table whose URL names
	// the Valkey Service and whose password comes from an environment
	// variable the DaemonSet sets from the Secret.
	var cfg struct {
		Cache struct {
			Shared struct {
				URL         string `toml:"url"`
				PasswordEnv string `toml:"password_env"`
			} `toml:"shared"`
		} `toml:"cache"`
		Mount struct {
			AllowOther bool `toml:"allow_other"`
		} `toml:"mount"`
	}
	if _, err := toml.Decode(cm.str("data", cfgFile), &cfg); err != nil {
		t.Fatalf("ConfigMap %s: %v", cfgFile, err)
	}
	if !cfg.Mount.AllowOther {
		t.Error("config: [mount] allow_other is off: other pods' users cannot read the mount")
	}
	u, err := url.Parse(cfg.Cache.Shared.URL)
	if err != nil || u.Scheme != "redis" || u.User != nil {
		t.Fatalf("config: [cache.shared] url %q (want redis:// without a password in it)", cfg.Cache.Shared.URL)
	}
	svc := must(t, objs, "Service/"+strings.Split(u.Hostname(), ".")[0])
	if port := fmt.Sprint(svc.get("spec", "ports", 0, "port")); port != u.Port() {
		t.Errorf("Service port %s, config port %s", port, u.Port())
	}
	var secretName, secretKey string
	for _, e := range c.list("env") {
		if e.str("name") == cfg.Cache.Shared.PasswordEnv {
			secretName, secretKey = e.str("valueFrom", "secretKeyRef", "name"), e.str("valueFrom", "secretKeyRef", "key")
		}
	}
	secret := must(t, objs, "Secret/"+secretName)
	if secret.get("stringData", secretKey) == nil && secret.get("data", secretKey) == nil {
		t.Errorf("Secret %s has no key %q for %s", secretName, secretKey, cfg.Cache.Shared.PasswordEnv)
	}

	// Valkey: a Deployment whose pods the Service selects, on the port
	// the Service targets, with the same password.
	var valkey object
	for id, o := range objs {
		if strings.HasPrefix(id, "Deployment/") {
			valkey = o
		}
	}
	if valkey == nil {
		t.Fatal("no Valkey/Redis Deployment")
	}
	labels := valkey.get("spec", "template", "metadata", "labels").(map[string]any)
	for k, v := range svc.get("spec", "selector").(map[string]any) {
		if labels[k] != v {
			t.Errorf("Service selects %s=%v, the Deployment's pods have %v", k, v, labels[k])
		}
	}
	vc := valkey.list("spec", "template", "spec", "containers")[0]
	if !strings.Contains(vc.str("image"), "valkey") && !strings.Contains(vc.str("image"), "redis") {
		t.Errorf("Deployment image %q is not Valkey or Redis", vc.str("image"))
	}
	target := fmt.Sprint(svc.get("spec", "ports", 0, "targetPort"))
	if p := vc.list("ports"); len(p) == 0 || (fmt.Sprint(p[0]["name"]) != target && fmt.Sprint(p[0]["containerPort"]) != target) {
		t.Errorf("Service targets port %s, the container has %v", target, vc.get("ports"))
	}
	if e := vc.list("env"); len(e) == 0 || e[0].str("valueFrom", "secretKeyRef", "name") != secretName {
		t.Errorf("Valkey does not take its password from Secret %s", secretName)
	}

	// A workload pod sees the mount: the same host path, HostToContainer.
	pod := must(t, objs, "Pod/stacfs-reader")
	pc := pod.list("spec", "containers")[0]
	found := false
	for _, v := range pod.list("spec", "volumes") {
		if v.str("hostPath", "path") == hostPath {
			m := volumeMount(pc, v.str("name"))
			found = m != nil && m.str("mountPropagation") == "HostToContainer"
		}
	}
	if !found {
		t.Errorf("workload pod does not mount host path %s with HostToContainer", hostPath)
	}

	// kustomization.yaml names every manifest but the example.
	var k struct {
		Resources []string `json:"resources"`
	}
	b, _ := os.ReadFile("kustomization.yaml")
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f != "kustomization.yaml" && f != "workload-example.yaml" && !slices.Contains(k.Resources, f) {
			t.Errorf("kustomization.yaml does not list %s", f)
		}
	}
}
