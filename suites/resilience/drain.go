package resilience

import (
	"fmt"
	"time"

	"github.com/onsi/ginkgo/v2"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeproof/kubeproof/chaos"
	"github.com/kubeproof/kubeproof/chaos/drain"
	"github.com/kubeproof/kubeproof/chaos/faults"
	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/suites/contract"
	"github.com/kubeproof/kubeproof/suites/framework"
)

var _ = framework.Describe("planned node maintenance", contract.AreaResilience, contract.Disruptive, ginkgo.Serial, func() {
	f := framework.New("drain")

	framework.Check("drain: pods move with their PodDisruptionBudget and the Service drops no request",
		"Draining a node through the Eviction API MUST respect the workload's PodDisruptionBudget, move its pods to other nodes, and, with readiness probes and a shutdown delay, lose no request through its Service; uncordoning MUST make the node schedulable again.",
		contract.ChaosDrain, contract.ProfileCertification,
		func(ctx ginkgo.SpecContext) {
			nodes := f.RequireNodes(ctx, 2)
			replicas := 2 * len(nodes)
			deploy := framework.Create(ctx, f, f.Client.AppsV1().Deployments(f.Namespace), webDeployment(int32(replicas), 5))
			framework.Create(ctx, f, f.Services(), fixtures.HTTPService(app))
			minAvailable := intstr.FromInt32(int32(replicas - 1))
			framework.Create(ctx, f, f.Client.PolicyV1().PodDisruptionBudgets(f.Namespace), &policyv1.PodDisruptionBudget{
				ObjectMeta: metav1.ObjectMeta{Name: app},
				Spec: policyv1.PodDisruptionBudgetSpec{
					MinAvailable: &minAvailable,
					Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
				},
			})
			waitAvailable(ctx, f, deploy.Name, replicas)
			trafficNode, victim := pickNodes(ctx, f, nodes)
			traffic := framework.Create(ctx, f, f.Pods(), trafficPod(trafficNode))
			f.WaitPodReady(ctx, traffic.Name)
			target := faultTarget(ctx, f)
			fault, err := faults.Plan(ctx, target,
				faults.Request{Kind: chaos.Drain, Node: victim, AllowDisruptive: framework.Context.AllowDisruptive, AllowControlPlane: framework.Context.AllowControlPlane})
			notPlanned(string(chaos.Drain), victim, err)
			ginkgo.AddReportEntry(contract.EntryTargets, []string{victim})
			fmt.Fprintf(ginkgo.GinkgoWriter, "plan: %s, in cluster %s (server %s)\n", fault.Describe(), target.Cluster, target.Server)
			onVictim, _ := podsOn(ctx, f, victim)
			obs := newObserver(f.Client, f.Namespace, victim, app, replicas)
			ginkgo.DeferCleanup(obs.close)
			trafficUntil(ctx, f, traffic.Name, time.Now().Add(3*time.Second))

			injectedAt := time.Now()
			obs.begin(injectedAt)
			entry, err := faults.Inject(ctx, framework.RunID(), target, fault)
			ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) {
				if err := faults.Revert(ctx, entry); err != nil {
					fmt.Fprintf(ginkgo.GinkgoWriter, "cleanup: %v (run `kubeproof chaos revert`)\n", err)
				}
			})
			if err != nil {
				framework.Failf("%v", err)
			}
			framework.Measure("drain duration (all pods evicted)", time.Since(injectedAt).Seconds(), "s")
			// The PodDisruptionBudget held: the API refused an eviction
			// while a second one would have broken it (the node had more
			// pods than the budget lets go at once), and never fewer than
			// minAvailable pods were available.
			refused := fault.(*drain.Drain).Refused
			framework.Measure("evictions refused by the PodDisruptionBudget", float64(refused), "")
			if allowed := replicas - minAvailable.IntValue(); onVictim > allowed && refused == 0 {
				framework.Failf("drain of %s: want at least one eviction refused with 429 (the node ran %d pods, PodDisruptionBudget %s allows %d at once), got none", victim, onVictim, app, allowed)
			}
			expectPhase(ctx, obs, scenario{fault: "drain"}, victim, phaseEvicted, framework.PodStartTimeout, "the drain returned")
			expectPhase(ctx, obs, scenario{fault: "drain"}, victim, phaseReplaced, 2*framework.PodStartTimeout, "pod start bound per PDB-paced eviction")
			replacedAt := time.Now()
			if err := faults.Revert(ctx, entry); err != nil {
				framework.Failf("uncordon %s: %v", victim, err)
			}
			n, err := f.Client.CoreV1().Nodes().Get(ctx, victim, metav1.GetOptions{})
			if err != nil || n.Spec.Unschedulable {
				framework.Failf("drain: node %s still unschedulable after revert (%v)", victim, err)
			}
			fewest := obs.fewestAvailable()
			framework.Measure("fewest available pods during the drain", float64(fewest), "")
			if fewest < minAvailable.IntValue() {
				framework.Failf("drain of %s: want at least %d of %d pods of %s available at every moment (PodDisruptionBudget minAvailable), got %d at the lowest", victim, minAvailable.IntValue(), replicas, app, fewest)
			}
			intervals := trafficUntil(ctx, f, traffic.Name, time.Now().Add(5*time.Second))
			failed, total := 0, 0
			for _, iv := range intervals {
				if time.UnixMilli(iv.Start).Before(injectedAt) {
					continue
				}
				failed, total = failed+iv.Failed, total+iv.OK+iv.Failed
			}
			// No floor from report (share 1): a drain must lose no request
			// at all, which the check below says in its own words.
			report(scenario{fault: "drain"}, obs, intervals, injectedAt, replacedAt, replacedAt, victim, trafficNode, 1)
			if failed > 0 {
				framework.Failf("drain of %s: %d of %d requests through Service %s failed while its pods moved; want none (PDB minAvailable %d, readiness probes, 5s shutdown delay)", victim, failed, total, app, replicas-1)
			}
		})
})
