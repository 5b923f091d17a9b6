package pods

import (
	"strings"
	"testing"

	"github.com/kubeproof/kubeproof/fixtures/wire"
)

func TestCgroupProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		cg   wire.Cgroup
		want string // a part of the problems, "" for none
	}{
		{"v1 as the kubelet applies it", wire.Cgroup{Version: 1, MemoryLimit: 48 << 20, CPUQuota: 20000, CPUPeriod: 100000, CPUShares: 51}, ""},
		{"v2, linear weight", wire.Cgroup{Version: 2, MemoryLimit: 48 << 20, CPUQuota: 20000, CPUPeriod: 100000, CPUWeight: 2}, ""},
		{"v2, newer runc's weight", wire.Cgroup{Version: 2, MemoryLimit: 48 << 20, CPUQuota: 20000, CPUPeriod: 100000, CPUWeight: 11}, ""},
		{"custom CFS period", wire.Cgroup{Version: 1, MemoryLimit: 48 << 20, CPUQuota: 10000, CPUPeriod: 50000, CPUShares: 51}, ""},
		{"no memory limit", wire.Cgroup{Version: 1, MemoryLimit: -1, CPUQuota: 20000, CPUPeriod: 100000, CPUShares: 51}, "memory limit: want 50331648 bytes (48Mi), got no limit"},
		{"CFS quota off", wire.Cgroup{Version: 1, MemoryLimit: 48 << 20, CPUQuota: -1, CPUPeriod: 100000, CPUShares: 51}, "got no quota (the CPU limit is not enforced)"},
		{"request ignored", wire.Cgroup{Version: 1, MemoryLimit: 48 << 20, CPUQuota: 20000, CPUPeriod: 100000, CPUShares: 1024}, "want cpu.shares 51 (50m), got 1024"},
		{"v2 default weight", wire.Cgroup{Version: 2, MemoryLimit: 48 << 20, CPUQuota: 20000, CPUPeriod: 100000, CPUWeight: 100}, "want cpu.weight 2 or 11"},
	} {
		got := strings.Join(cgroupProblems(tc.cg), "; ")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: want problems containing %q, got %q", tc.name, tc.want, got)
		}
	}
}

func TestSharesToWeight(t *testing.T) {
	// The default share (1024) keeps the default weight (100) with the
	// newer formula; the linear one gives 39.
	if got := sharesToWeight(1024); got[0] != 39 || got[1] != 100 {
		t.Errorf("shares 1024: want weights 39 (linear) and 100, got %v", got)
	}
}
