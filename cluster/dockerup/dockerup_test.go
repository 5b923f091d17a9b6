package dockerup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultRuntimeOfSomeoneElseIsKept(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		json   string
		refuse bool
	}{
		{"", false}, // no daemon.json
		{`{"log-level": "warn"}`, false},
		{`{"default-runtime": "runc"}`, false},
		{`{"default-runtime": "kubeproof-runc"}`, false},
		{`{"default-runtime": "nvidia", "runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime"}}}`, true},
	} {
		path := filepath.Join(dir, "daemon.json")
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if c.json != "" {
			if err := os.WriteFile(path, []byte(c.json), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		err := checkDefaultRuntime(path)
		if c.refuse != (err != nil) {
			t.Errorf("%s: refuse=%t, got %v", c.json, c.refuse, err)
		}
		if err != nil && !strings.Contains(err.Error(), `"nvidia"`) {
			t.Errorf("the refusal must name the runtime it keeps: %v", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkDefaultRuntime(filepath.Join(dir, "bad.json")); err == nil {
		t.Error("an unreadable daemon.json must be an error, not overwritten")
	}
}
