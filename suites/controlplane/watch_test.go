package controlplane

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/watch"
)

func TestDescribeDifferenceNamesTheFirstEventAmiss(t *testing.T) {
	want := []change{{watch.Added, "a", "create"}, {watch.Added, "b", "create"}, {watch.Modified, "a", "update"}}
	for _, tc := range []struct {
		got  []change
		err  error
		line string
	}{
		{got: want, line: "all 3"},
		{got: want[:1], err: errors.New("no event for 30s"), line: "1 events: missed ADDED b (step create) and the 1 after it (no event for 30s)"},
		{got: []change{want[0], want[0], want[1]}, line: "event 2 (after resuming) repeated: ADDED a (step create), want ADDED b (step create)"},
		{got: []change{want[1], want[0], want[2]}, line: "event 1 (before the cut) ADDED b (step create), want ADDED a (step create)"},
	} {
		i := firstDifference(want, tc.got)
		if got := describeDifference(want, tc.got, i, 1, tc.err); got != tc.line {
			t.Errorf("got %q, want %q", got, tc.line)
		}
	}
}
