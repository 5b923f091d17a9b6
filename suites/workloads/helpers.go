package workloads

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/framework"
)

const (
	// rolloutTimeout bounds a whole rollout of a few pods: a few pod starts
	// (framework.PodStartTimeout each, at worst) one after another.
	rolloutTimeout = 3 * time.Minute
	poll           = 250 * time.Millisecond
	// drainQuiet ends a drain: under the load (80 requests/s over at most
	// 5 pods) a pod still in the Service's rules gets a request every
	// 60 ms or so, so a second without one means the rules dropped it.
	drainQuiet = time.Second
	// revisionAnnotation is where the Deployment controller numbers revisions.
	revisionAnnotation = "deployment.kubernetes.io/revision"
)

// template is a pod template for app: the hardened workload server of
// framework.ServerPod with the run's labels, so that a cleanup finds its
// pods. A drain of n > 0 seconds keeps a stopping pod answering while
// requests still come, for at most n seconds: it stops once none has come
// for drainQuiet.
func template(app string, drain int, env ...corev1.EnvVar) corev1.PodTemplateSpec {
	o := framework.Server{ShutdownDelay: drain}
	if drain > 0 {
		o.ShutdownQuiet = drainQuiet
	}
	spec := framework.ServerPod(o).Spec
	spec.Containers[0].Env = append(spec.Containers[0].Env, env...)
	labels := framework.RunLabels()
	labels["app"] = app
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}
}

// unprobed is a template for the checks that judge a controller's
// bookkeeping and send its pods no request (scaling, surge limits, pause,
// Recreate): Ready is then the container running, and nothing of what
// they check depends on a probe. A readiness probe makes each pod wait
// for the kubelet's next probe before it is Ready, and each deleted pod
// wait about a second before the kubelet stops it (measured: SIGTERM
// about 1.1 s after the deletion with a probe, at once without), in
// every wave of a rollout. The checks that send traffic keep the probe:
// it is what keeps a pod that is not listening yet out of its Service.
func unprobed(t corev1.PodTemplateSpec) corev1.PodTemplateSpec {
	t.Spec.Containers[0].ReadinessProbe = nil
	return t
}

func version(v string) corev1.EnvVar { return corev1.EnvVar{Name: "VERSION", Value: v} }

// setVersion sets the template's VERSION variable, adding it if missing.
func setVersion(t *corev1.PodTemplateSpec, v string) {
	c := &t.Spec.Containers[0]
	for i := range c.Env {
		if c.Env[i].Name == "VERSION" {
			c.Env[i].Value = v
			return
		}
	}
	c.Env = append(c.Env, version(v))
}

func selectorOf(app string) string { return "app=" + app }

func replicaSet(name string, replicas int32, t corev1.PodTemplateSpec) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": t.Labels["app"]}},
			Template: t,
		},
	}
}

func deployment(name string, replicas int32, t corev1.PodTemplateSpec, strategy appsv1.DeploymentStrategy) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": t.Labels["app"]}},
			Template: t,
			Strategy: strategy,
		},
	}
}

func rollingUpdate(maxSurge, maxUnavailable int) appsv1.DeploymentStrategy {
	return appsv1.DeploymentStrategy{
		Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxSurge:       ptr.To(intstr.FromInt(maxSurge)),
			MaxUnavailable: ptr.To(intstr.FromInt(maxUnavailable)),
		},
	}
}

// startClient gives the pod that sends traffic: the shared client of
// this process (framework.Peers.LoadClient), which only sends, in a
// namespace of its own, so no Service of the spec selects it. It reaches
// the spec's Services by ClusterIP. Call it after creating the workload:
// the shared pods start (once) while the workload's do.
func startClient(ctx context.Context, f *framework.Framework) *corev1.Pod {
	ginkgo.GinkgoHelper()
	return f.Peers(ctx, 1).LoadClient()
}

// waitGone follows the pods until none of these (by UID) is left, their
// drain over and the kubelet done with them, and returns when that was
// seen: from then on a request that still reaches one fails.
func waitGone(ctx context.Context, pods *framework.Tracker[*corev1.Pod], gone []*corev1.Pod, whose string) time.Time {
	ginkgo.GinkgoHelper()
	uids := map[types.UID]bool{}
	for _, p := range gone {
		uids[p.UID] = true
	}
	var left []*corev1.Pod
	at, err := pods.Until(ctx, framework.PodStartTimeout, func(time.Time) bool {
		left = slices.DeleteFunc(pods.Objects(), func(p *corev1.Pod) bool { return !uids[p.UID] })
		return len(left) == 0
	})
	if err != nil {
		framework.Failf("%s %s: want them gone within %s of being deleted, got %s left (%v)", whose, framework.PodsOnNodes(gone), framework.PodStartTimeout, framework.DescribePods(left), err)
	}
	return at
}

// waitServiceAnswers waits until a request through the Service is answered:
// new endpoints take a moment to reach kube-proxy.
func waitServiceAnswers(ctx context.Context, f *framework.Framework, from *corev1.Pod, svc *corev1.Service) {
	ginkgo.GinkgoHelper()
	url := framework.ServiceURL(svc, "/hostname")
	within := framework.ProbeTimeouts()
	framework.WaitFor(ctx, framework.ProgramTimeout, poll, fmt.Sprintf("%s from %s", framework.DescribeService(svc), framework.DescribePod(from)), "HTTP 200",
		func(ctx context.Context) (bool, string) {
			r := f.HTTPGet(ctx, from, url, within())
			if r.OK {
				return true, ""
			}
			return false, fmt.Sprintf("%s (pods: %s)", r, f.PodsNow(ctx, selectorOf(svc.Spec.Selector["app"])))
		})
}

// activePods are the pods not being deleted, as a controller counts them.
func activePods(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

func allReady(pods []*corev1.Pod) bool {
	for _, p := range pods {
		if !kube.PodReady(p) {
			return false
		}
	}
	return true
}

func controlledBy(o metav1.Object, uid types.UID) bool {
	ref := metav1.GetControllerOf(o)
	return ref != nil && ref.UID == uid
}

// waitReplicaSetReady waits until the ReplicaSet has exactly its desired
// number of pods, all Ready. It reads the pods (the kubelets' word), not
// the ReplicaSet's status: the controller manager writes that, and a check
// of the controller must not hang on it if the controller stops.
func waitReplicaSetReady(ctx context.Context, f *framework.Framework, rs *appsv1.ReplicaSet) {
	ginkgo.GinkgoHelper()
	want := int(*rs.Spec.Replicas)
	framework.WaitFor(ctx, framework.PodStartTimeout, poll, fmt.Sprintf("ReplicaSet %s/%s", f.Namespace, rs.Name), fmt.Sprintf("%d Ready pods", want),
		func(ctx context.Context) (bool, string) {
			pods, err := f.ListPods(ctx, selectorOf(rs.Spec.Template.Labels["app"]))
			owned := slices.DeleteFunc(activePods(pods), func(p *corev1.Pod) bool { return !controlledBy(p, rs.UID) })
			return err == nil && len(owned) == want && allReady(owned), fmt.Sprintf("%s (%v)", framework.DescribePods(pods), err)
		})
}

// rolledOut reports what `kubectl rollout status` waits for: the
// controller has seen the latest spec, every pod runs it and is
// available, and no pod of an older template is left.
func rolledOut(d *appsv1.Deployment) bool {
	want := *d.Spec.Replicas
	return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == want &&
		d.Status.Replicas == want && d.Status.AvailableReplicas == want
}

func deploymentStatus(d *appsv1.Deployment) string {
	if d == nil {
		return "nothing yet"
	}
	s := fmt.Sprintf("generation %d observed %d, replicas=%d updated=%d available=%d unavailable=%d",
		d.Generation, d.Status.ObservedGeneration, d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.UnavailableReplicas)
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing {
			s += fmt.Sprintf(", Progressing=%s %s", c.Status, c.Reason)
		}
	}
	return s
}

// waitRolledOut watches the Deployment until the rollout of d's spec (its
// generation, as Create or an update returned it) is complete, and returns
// when that was seen. The generation matters: right after an update the
// tracker still holds the previous, completed rollout.
func waitRolledOut(ctx context.Context, f *framework.Framework, dw *framework.Tracker[*appsv1.Deployment], d *appsv1.Deployment) time.Time {
	ginkgo.GinkgoHelper()
	at, err := dw.Until(ctx, rolloutTimeout, func(time.Time) bool {
		cur := dw.Get(d.Name)
		return cur != nil && cur.Generation >= d.Generation && rolledOut(cur)
	})
	if err != nil {
		framework.Failf("Deployment %s/%s: want the rollout of generation %d complete within %s, got %s (pods: %s; %v)", f.Namespace, d.Name, d.Generation, rolloutTimeout, deploymentStatus(dw.Get(d.Name)), f.PodsNow(ctx, selectorOf(d.Spec.Template.Labels["app"])), err)
	}
	return at
}

// updateDeployment applies change to the latest Deployment, retrying on
// conflicts with the controller's status writes.
func updateDeployment(ctx context.Context, f *framework.Framework, name string, change func(*appsv1.Deployment)) *appsv1.Deployment {
	ginkgo.GinkgoHelper()
	api := f.Client.AppsV1().Deployments(f.Namespace)
	var out *appsv1.Deployment
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := api.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(d)
		out, err = api.Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		framework.Failf("update Deployment %s/%s: %v", f.Namespace, name, err)
	}
	return out
}

// ownedReplicaSets lists the ReplicaSets the Deployment controls, by name.
func ownedReplicaSets(ctx context.Context, f *framework.Framework, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	list, err := f.Client.AppsV1().ReplicaSets(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selectorOf(d.Spec.Template.Labels["app"])})
	if err != nil {
		return nil, fmt.Errorf("list ReplicaSets of Deployment %s/%s: %w", f.Namespace, d.Name, err)
	}
	var out []*appsv1.ReplicaSet
	for _, rs := range framework.Ptrs(list.Items) {
		if controlledBy(rs, d.UID) {
			out = append(out, rs)
		}
	}
	slices.SortFunc(out, func(a, b *appsv1.ReplicaSet) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// versions counts the answers to /env?name=VERSION: "v1=20".
func versions(iv interval) string {
	if len(iv.Backends) == 0 {
		return iv.String()
	}
	s := wire.Counts(iv.Backends)
	if iv.Failed > 0 {
		s += "; " + iv.String()
	}
	return s
}
