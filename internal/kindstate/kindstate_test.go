package kindstate

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecordDecidesConsentWithTheServer(t *testing.T) {
	t.Setenv("KUBEPROOF_STATE_DIR", t.TempDir())
	if ok, why := Created("", "https://127.0.0.1:1"); ok || why == "" {
		t.Errorf("no kind cluster: want refused with a reason, got %t %q", ok, why)
	}
	if ok, why := Created("x", "https://127.0.0.1:1"); ok || !strings.Contains(why, "not created by kubeproof") {
		t.Errorf("no record: want refused, got %t %q", ok, why)
	}
	if err := Remember("x", "https://127.0.0.1:40001", ""); err != nil {
		t.Fatal(err)
	}
	// Same name, another server: someone else's cluster, or a kubeconfig
	// that points elsewhere.
	if ok, why := Created("x", "https://10.0.0.1:6443"); ok || !strings.Contains(why, "https://10.0.0.1:6443") {
		t.Errorf("other server: want refused naming it, got %t %q", ok, why)
	}
	r, ok, err := Lookup("x")
	if err != nil || !ok || r.Server != "https://127.0.0.1:40001" {
		t.Errorf("Lookup = %+v %t %v", r, ok, err)
	}
	if err := Forget("x"); err != nil {
		t.Fatal(err)
	}
	if err := Forget("x"); err != nil {
		t.Errorf("forgetting twice: %v", err)
	}
	if _, ok, _ := Lookup("x"); ok {
		t.Error("record still there after Forget")
	}
}

func TestOrphansAreRunClustersWhoseRunnerIsGone(t *testing.T) {
	t.Setenv("KUBEPROOF_STATE_DIR", t.TempDir())
	// A user's cluster, and one of a live run (this process): not orphans.
	if err := Remember("mine", "https://127.0.0.1:1", ""); err != nil {
		t.Fatal(err)
	}
	if err := Remember("kubeproof-run-live", "https://127.0.0.1:2", "live"); err != nil {
		t.Fatal(err)
	}
	// A run whose runner has exited.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(Record{Name: "kubeproof-run-dead", Server: "https://127.0.0.1:3", RunID: "dead", PID: dead.Process.Pid})
	if err := os.WriteFile(filepath.Join(Dir(), "kubeproof-run-dead.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Orphans()
	if err != nil || len(got) != 1 || got[0].Name != "kubeproof-run-dead" {
		t.Errorf("Orphans = %+v, %v; want only kubeproof-run-dead", got, err)
	}
}
