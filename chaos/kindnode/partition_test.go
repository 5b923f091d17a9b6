package kindnode

import (
	"strings"
	"testing"
)

func TestPartitionRulesFromParsedPeers(t *testing.T) {
	rules, err := partitionRules([]string{"172.18.0.3", "10.244.1.7/24"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"*filter\n:KUBEPROOF-PARTITION - [0:0]\n",
		"-A KUBEPROOF-PARTITION -s 172.18.0.3/32 -j DROP\n-A KUBEPROOF-PARTITION -d 172.18.0.3/32 -j DROP\n",
		"-A KUBEPROOF-PARTITION -s 10.244.1.0/24 -j DROP\n", // canonical network
		"-I INPUT 1 -j KUBEPROOF-PARTITION\n-I OUTPUT 1 -j KUBEPROOF-PARTITION\n-I FORWARD 1 -j KUBEPROOF-PARTITION\nCOMMIT\n",
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("rules lack %q:\n%s", want, rules)
		}
	}
	for _, bad := range [][]string{
		{"172.18.0.3; reboot"}, {"$(reboot)"}, {"172.18.0.3 -j ACCEPT"}, {}, {"fd00::1"}, {"fd00:10:244::/64"},
	} {
		if r, err := partitionRules(bad); err == nil {
			t.Errorf("peers %q: want refused, got rules\n%s", bad, r)
		}
	}
	if _, err := partitionRules([]string{"fd00::1"}); err == nil || !strings.Contains(err.Error(), "IPv6") {
		t.Errorf("an IPv6 peer must be refused saying so, got %v", err)
	}
}
