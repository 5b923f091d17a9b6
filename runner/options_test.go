package runner

import (
	"testing"

	"github.com/kubeproof/kubeproof/suites/contract"
)

func TestValidateRejectsBadFlags(t *testing.T) {
	for _, o := range []Options{
		{Profile: "everything", Procs: 1},
		{Profile: "core", Procs: 1, LabelFilter: "area:netwroking"},
		{Profile: "core", Procs: 0},
		{Profile: "core", Procs: 1, Kind: true, Settings: contract.Settings{Cluster: contract.Cluster{Kubeconfig: "x"}}},
		{Profile: "core", Procs: 1, KindConfig: "fast-recovery"},
	} {
		o.OutputDir = t.TempDir()
		if err := o.validate(); err == nil {
			t.Errorf("%+v: want an error", o)
		}
	}
}
