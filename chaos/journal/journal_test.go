package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeproof/kubeproof/chaos"
)

func TestRecordListRemove(t *testing.T) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	spec := chaos.Spec{Kind: chaos.NodeStop, Node: "w1"}
	first := Entry{ID: NewID("run-a", spec), RunID: "run-a", Cluster: chaos.Cluster{KindCluster: "c"}, Spec: spec, InjectedAt: time.Now().Add(-time.Minute)}
	second := Entry{ID: NewID("run-b", spec), RunID: "run-b", Spec: spec, InjectedAt: time.Now()}
	for _, e := range []Entry{second, first} {
		if err := Record(e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := List("")
	if err != nil || len(all) != 2 || all[0].ID != first.ID {
		t.Fatalf("want both entries, oldest first: %v %v", all, err)
	}
	if runA, _ := List("run-a"); len(runA) != 1 || runA[0].Spec.Node != spec.Node || runA[0].Cluster.KindCluster != "c" {
		t.Errorf("List(run-a) = %v", runA)
	}
	if err := Remove(first.ID); err != nil {
		t.Fatal(err)
	}
	if err := Remove(first.ID); err != nil {
		t.Errorf("removing a removed entry must succeed: %v", err)
	}
	if left, _ := List(""); len(left) != 1 || left[0].ID != second.ID {
		t.Errorf("after Remove: %v", left)
	}
}

// An entry written before the cluster moved out of the spec is read with
// its cluster, so that `chaos revert` of a newer kubeproof still reaches it.
func TestListReadsEntriesWithTheClusterInTheSpec(t *testing.T) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	old := `{"id": "r-drain-w1-1", "runID": "r", "spec": {"kind": "drain", "node": "w1",
		"kubeconfig": "/k/config", "context": "ctx", "kindCluster": "kc",
		"params": {"wasCordoned": "false"}}, "injectedAt": "2024-01-02T03:04:05Z", "pid": 1}`
	if err := os.WriteFile(filepath.Join(Dir(), "r-drain-w1-1.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := List("r")
	if err != nil || len(got) != 1 {
		t.Fatalf("List = %v, %v", got, err)
	}
	want := chaos.Cluster{Kubeconfig: "/k/config", Context: "ctx", KindCluster: "kc"}
	if got[0].Cluster != want || got[0].Spec.Kind != chaos.Drain || got[0].Spec.Params["wasCordoned"] != "false" {
		t.Errorf("old entry read as %+v, want cluster %+v", got[0], want)
	}
}

func TestAnUnreadableEntryHidesNoOther(t *testing.T) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	good := Entry{ID: "run1-drain-w1-1", RunID: "run1", Spec: chaos.Spec{Kind: chaos.Drain, Node: "w1"}}
	if err := Record(good); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(Dir(), "run1-node-stop-w2-2.json")
	if err := os.WriteFile(bad, []byte(`{"id": "run1-node-stop-w2-2", "spec": {`), 0o644); err != nil {
		t.Fatal(err)
	}
	entries, err := List("run1")
	if len(entries) != 1 || entries[0].ID != good.ID {
		t.Errorf("want the readable entry listed, got %+v", entries)
	}
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("want an error naming %s, got %v", bad, err)
	}
}
