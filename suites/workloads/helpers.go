package workloads

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/suites/framework"
)

const (
	// requestTimeout bounds one request inside the cluster, where a
	// healthy answer takes milliseconds.
	requestTimeout = 2 * time.Second
	// programTimeout is a generous ceiling for a change (a new Service, an
	// endpoint turning ready) to reach the API and kube-proxy on a loaded
	// 2-core machine; it normally takes about a second.
	programTimeout = 30 * time.Second
	// rolloutTimeout bounds a whole rollout of a few pods: a few pod starts
	// (framework.PodStartTimeout each, at worst) one after another.
	rolloutTimeout = 3 * time.Minute
	poll           = 250 * time.Millisecond
	// rate is the offered load, in requests per second, of traffic checks.
	rate = 20
	// revisionAnnotation is where the Deployment controller numbers revisions.
	revisionAnnotation = "deployment.kubernetes.io/revision"
)

// template is a pod template for app: the hardened, never-pulling workload
// server of fixtures.ServerPod, with drain seconds of serving after SIGTERM
// and the run's labels so that a cleanup finds its pods.
func template(app string, drain int, env ...corev1.EnvVar) corev1.PodTemplateSpec {
	spec := fixtures.ServerPod(fixtures.ServerOptions{Image: framework.Context.WorkloadImage, ShutdownDelay: drain}).Spec
	spec.Containers[0].Env = append(spec.Containers[0].Env, env...)
	labels := framework.RunLabels()
	labels["app"] = app
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}
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

func serviceURL(svc *corev1.Service, path string) string {
	return "http://" + net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(svc.Spec.Ports[0].Port))) + path
}

func podURL(p *corev1.Pod, path string) string {
	return "http://" + net.JoinHostPort(p.Status.PodIP, strconv.Itoa(wire.HTTPPort)) + path
}

// startClient starts the pod that sends traffic; it carries no app label,
// so no Service selects it.
func startClient(ctx context.Context, f *framework.Framework) *corev1.Pod {
	ginkgo.GinkgoHelper()
	return f.StartServers(ctx, framework.Server{Name: "client"})[0]
}

// eventually polls cond with Gomega until it holds or timeout passes and
// reports whether it held. Callers fail with their own one-line message
// naming what they last saw, which Gomega's multi-line report would not.
func eventually(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	g := gomega.NewGomega(func(string, ...int) {})
	return g.Eventually(ctx, cond).WithTimeout(timeout).WithPolling(poll).Should(gomega.BeTrue())
}

// consistently reports whether cond held at every poll for d.
func consistently(ctx context.Context, d time.Duration, cond func() bool) bool {
	g := gomega.NewGomega(func(string, ...int) {})
	return g.Consistently(ctx, cond).WithTimeout(d).WithPolling(poll).Should(gomega.BeTrue())
}

// headStart gives traffic a moment to flow before a change: a fixed lead,
// not a wait for state.
func headStart(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// waitServiceAnswers waits until a request through the Service is answered:
// new endpoints take a moment to reach kube-proxy.
func waitServiceAnswers(ctx context.Context, f *framework.Framework, from *corev1.Pod, svc *corev1.Service) {
	ginkgo.GinkgoHelper()
	url := serviceURL(svc, "/hostname")
	var last wire.Result
	if !eventually(ctx, programTimeout, func() bool {
		last = f.HTTPGet(ctx, from, url, requestTimeout)
		return last.OK
	}) {
		framework.Failf("%s from pod %s: want HTTP 200 within %s, got %s", describeService(svc), from.Name, programTimeout, last)
	}
}

func describeService(svc *corev1.Service) string {
	return fmt.Sprintf("Service %s/%s (%s)", svc.Namespace, svc.Name, svc.Spec.ClusterIP)
}

// listPods lists the spec's pods matching selector.
func listPods(ctx context.Context, f *framework.Framework, selector string) ([]*corev1.Pod, error) {
	list, err := f.Client.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list pods %s in %s: %w", selector, f.Namespace, err)
	}
	return ptrs(list.Items), nil
}

// podsNow summarises the pods matching selector for a failure message.
func podsNow(ctx context.Context, f *framework.Framework, selector string) string {
	pods, err := listPods(ctx, f, selector)
	if err != nil {
		return err.Error()
	}
	return summary(pods)
}

// podState says in a word or a few where a pod stands.
func podState(p *corev1.Pod) string {
	switch {
	case p.DeletionTimestamp != nil:
		return "terminating"
	case kube.PodReady(p):
		return "Ready"
	}
	return kube.PodProblem(p)
}

// summary prints pods as "web-x on dev-worker: Ready; web-y on ...".
func summary(pods []*corev1.Pod) string {
	if len(pods) == 0 {
		return "no pods"
	}
	var parts []string
	for _, p := range pods {
		parts = append(parts, fmt.Sprintf("%s on %s: %s", p.Name, p.Spec.NodeName, podState(p)))
	}
	return strings.Join(parts, "; ")
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

func names[T metav1.Object](objs []T) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetName())
	}
	return out
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
	var pods []*corev1.Pod
	var err error
	if !eventually(ctx, framework.PodStartTimeout, func() bool {
		pods, err = listPods(ctx, f, selectorOf(rs.Spec.Template.Labels["app"]))
		owned := slices.DeleteFunc(activePods(pods), func(p *corev1.Pod) bool { return !controlledBy(p, rs.UID) })
		return err == nil && len(owned) == want && allReady(owned)
	}) {
		framework.Failf("ReplicaSet %s/%s: want %d Ready pods within %s, got %s (%v)", f.Namespace, rs.Name, want, framework.PodStartTimeout, summary(pods), err)
	}
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
func waitRolledOut(ctx context.Context, f *framework.Framework, dw *tracker[*appsv1.Deployment], d *appsv1.Deployment) time.Time {
	ginkgo.GinkgoHelper()
	at, err := dw.until(ctx, rolloutTimeout, func(time.Time) bool {
		cur, ok := dw.objs[d.Name]
		return ok && cur.Generation >= d.Generation && rolledOut(cur)
	})
	if err != nil {
		framework.Failf("Deployment %s/%s: want the rollout of generation %d complete within %s, got %s (pods: %s; %v)", f.Namespace, d.Name, d.Generation, rolloutTimeout, deploymentStatus(dw.objs[d.Name]), podsNow(ctx, f, selectorOf(d.Spec.Template.Labels["app"])), err)
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
	for _, rs := range ptrs(list.Items) {
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
