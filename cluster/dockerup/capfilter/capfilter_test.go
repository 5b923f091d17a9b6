package capfilter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestFilterFileDropsCapabilitiesOutsideTheBoundingSet(t *testing.T) {
	// The bounding set of the sandbox kubeproof was first run in: all but CAP_SYS_RESOURCE.
	bounding := Set(0x000001fffeffffff)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "config.json")
	spec := `{"ociVersion":"1.0.2","process":{"args":["sh"],"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_RESOURCE"],"effective":["CAP_SYS_RESOURCE","CAP_NET_ADMIN"],"permitted":["CAP_SYS_RESOURCE"]}},"root":{"path":"rootfs"}}`
	if err := os.WriteFile(bundle, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := FilterFile(bundle, false, bounding); err != nil {
		t.Fatal(err)
	}
	var got struct {
		OCIVersion string `json:"ociVersion"`
		Process    struct {
			Args         []string            `json:"args"`
			Capabilities map[string][]string `json:"capabilities"`
		} `json:"process"`
	}
	data, _ := os.ReadFile(bundle)
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"bounding": {"CAP_CHOWN"}, "effective": {"CAP_NET_ADMIN"}, "permitted": {}}
	for kind, caps := range want {
		if len(got.Process.Capabilities[kind]) != len(caps) || (len(caps) > 0 && got.Process.Capabilities[kind][0] != caps[0]) {
			t.Errorf("%s: want %v, got %v", kind, caps, got.Process.Capabilities[kind])
		}
	}
	if got.OCIVersion != "1.0.2" || len(got.Process.Args) != 1 {
		t.Errorf("other fields must survive: %s", data)
	}

	process := filepath.Join(dir, "process.json")
	if err := os.WriteFile(process, []byte(`{"args":["ls"],"capabilities":{"bounding":["CAP_SYS_RESOURCE","CAP_KILL"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := FilterFile(process, true, bounding); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(process)
	if string(data) != `{"args":["ls"],"capabilities":{"bounding":["CAP_KILL"]}}` {
		t.Errorf("exec process file: got %s", data)
	}
}

func TestFilterFileLeavesAFullSetAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	spec := `{"process":{"capabilities":{"bounding":["CAP_SYS_RESOURCE"]}}}`
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := FilterFile(path, false, Set(^uint64(0))); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != spec {
		t.Errorf("file rewritten although nothing was missing: %s", data)
	}
}
