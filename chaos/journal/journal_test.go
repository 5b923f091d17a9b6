package journal

import (
	"testing"
	"time"

	"github.com/kubeproof/kubeproof/chaos"
)

func TestRecordListRemove(t *testing.T) {
	t.Setenv("KUBEPROOF_JOURNAL_DIR", t.TempDir())
	spec := chaos.Spec{Kind: "node-stop", Node: "w1", KindCluster: "c"}
	first := Entry{ID: NewID("run-a", spec), RunID: "run-a", Spec: spec, InjectedAt: time.Now().Add(-time.Minute)}
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
	if runA, _ := List("run-a"); len(runA) != 1 || runA[0].Spec.Node != spec.Node {
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
