package rehearsal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubeproof/kubeproof/cluster/kindcluster"
	"github.com/kubeproof/kubeproof/fixtures"
	"github.com/kubeproof/kubeproof/fixtures/wire"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/reporters/upgrade"
)

// The long-lived workloads an upgrade must keep: what a platform team runs.
const (
	// web: three replicas behind a PodDisruptionBudget, a ClusterIP and a
	// NodePort; a drain may take one pod at a time, so no request may fail.
	web = "web"
	// single: one replica and no PodDisruptionBudget, the control that
	// shows what an unprotected workload loses (and that the probes see it).
	single = "single"
	// data: a StatefulSet whose pods write a token to their volume on first
	// start; it must read back the same after the upgrade.
	data = "data"
)

// workloads are the objects deployed before the upgrade, and what they
// looked like then.
type workloads struct {
	// cluster is the kind cluster's name, the prefix of its nodes' names.
	cluster string
	c       *kube.Client
	ns      string
	image   string
	labels  map[string]string
	before  map[string]string // kind/name -> state compared after
	webSvc  *corev1.Service
	oneSvc  *corev1.Service
	storage string // the StorageClass of data's volumes
}

func (w *workloads) server(name string, shutdownDelay int) corev1.PodTemplateSpec {
	labels := map[string]string{"app": name}
	for k, v := range w.labels {
		labels[k] = v
	}
	p := fixtures.ServerPod(fixtures.ServerOptions{Image: w.image, Labels: labels, ShutdownDelay: shutdownDelay, ShutdownQuiet: 2e9})
	return corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}
}

func (w *workloads) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: w.ns, Labels: w.labels}
}

// deploy creates the workloads and waits until every pod is Ready and the
// one-off Job has completed. Local volumes for data are made on the nodes
// first: node-local storage, as kind has, that a pod cannot take
// along to another node.
func (w *workloads) deploy(ctx context.Context, nodes []kindcluster.Node) error {
	apps, core := w.c.AppsV1(), w.c.CoreV1()
	webTpl := w.server(web, 20)
	if _, err := apps.Deployments(w.ns).Create(ctx, &appsv1.Deployment{ObjectMeta: w.meta(web), Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(int32(3)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": web}}, Template: webTpl,
	}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := w.c.PolicyV1().PodDisruptionBudgets(w.ns).Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: w.meta(web), Spec: policyv1.PodDisruptionBudgetSpec{
		MaxUnavailable: ptr.To(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": web}},
	}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := apps.Deployments(w.ns).Create(ctx, &appsv1.Deployment{ObjectMeta: w.meta(single), Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": single}}, Template: w.server(single, 0),
	}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	var err error
	for _, name := range []string{web, single} {
		svc := fixtures.HTTPService(name)
		svc.Namespace, svc.Labels = w.ns, w.labels
		svc.Spec.Type = corev1.ServiceTypeNodePort
		if svc, err = core.Services(w.ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return err
		}
		if name == web {
			w.webSvc = svc
		} else {
			w.oneSvc = svc
		}
	}
	if err := w.localVolumes(ctx, nodes); err != nil {
		return err
	}
	dataTpl := w.server(data, 0)
	dataTpl.Spec.Containers[0].Args = append(dataTpl.Spec.Containers[0].Args, "--state=/data")
	dataTpl.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	if _, err := apps.StatefulSets(w.ns).Create(ctx, &appsv1.StatefulSet{ObjectMeta: w.meta(data), Spec: appsv1.StatefulSetSpec{
		Replicas: ptr.To(int32(2)), ServiceName: data, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": data}}, Template: dataTpl,
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: w.labels}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To(w.storage),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
		}}},
	}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := core.ConfigMaps(w.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: w.meta("settings"), Data: map[string]string{"greeting": "hello", "level": "3"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := core.Secrets(w.ns).Create(ctx, &corev1.Secret{ObjectMeta: w.meta("credentials"), StringData: map[string]string{"user": "kubeproof", "token": w.ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	job := w.job(fmt.Sprintf("http://%s.%s.svc:%d/hostname", web, w.ns, wire.HTTPPort))
	if _, err := w.c.BatchV1().Jobs(w.ns).Create(ctx, &batchv1.Job{ObjectMeta: w.meta("once"), Spec: job}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := w.c.BatchV1().CronJobs(w.ns).Create(ctx, &batchv1.CronJob{ObjectMeta: w.meta("tick"), Spec: batchv1.CronJobSpec{
		Schedule: "* * * * *", ConcurrencyPolicy: batchv1.ForbidConcurrent, SuccessfulJobsHistoryLimit: ptr.To(int32(20)),
		JobTemplate: batchv1.JobTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: w.labels}, Spec: job},
	}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	return nil
}

// job asks web once; a Job's pod that cannot reach it fails.
func (w *workloads) job(url string) batchv1.JobSpec {
	tpl := w.server("job", 0)
	c := &tpl.Spec.Containers[0]
	c.Args, c.Ports, c.ReadinessProbe = []string{"get", "--fail", url}, nil, nil
	tpl.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	return batchv1.JobSpec{BackoffLimit: ptr.To(int32(6)), Template: tpl}
}

// localVolumes makes one local PersistentVolume per node meant for pods,
// in a directory made for this rehearsal, and their StorageClass.
func (w *workloads) localVolumes(ctx context.Context, nodes []kindcluster.Node) error {
	if _, err := w.c.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: w.storage, Labels: w.labels}, Provisioner: "kubernetes.io/no-provisioner",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer), ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimRetain),
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for _, n := range nodes {
		node, err := w.c.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !kube.MeantForPods(node) {
			continue
		}
		dir := "/var/local/kubeproof/" + w.ns
		// The workload runs as a non-root user; the directory is its own.
		if _, err := n.Run(ctx, "sh", "-c", fmt.Sprintf("mkdir -p %s && chown %d %s", dir, fixtures.NonRootUID, dir)); err != nil {
			return err
		}
		if _, err := w.c.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: w.ns + "-" + n.Name, Labels: w.labels},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              w.storage,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{n.Name}}},
				}}}},
			},
		}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// ready is "" once every workload pod is Ready and the Job has completed,
// else what is still missing.
func (w *workloads) ready(ctx context.Context) (string, error) {
	var missing []string
	deps, err := w.c.AppsV1().Deployments(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, d := range deps.Items {
		if d.Status.ReadyReplicas != *d.Spec.Replicas || d.Status.UpdatedReplicas != *d.Spec.Replicas {
			missing = append(missing, fmt.Sprintf("Deployment %s %d/%d ready", d.Name, d.Status.ReadyReplicas, *d.Spec.Replicas))
		}
	}
	sts, err := w.c.AppsV1().StatefulSets(w.ns).Get(ctx, data, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if sts.Status.ReadyReplicas != *sts.Spec.Replicas {
		missing = append(missing, fmt.Sprintf("StatefulSet %s %d/%d ready", data, sts.Status.ReadyReplicas, *sts.Spec.Replicas))
	}
	job, err := w.c.BatchV1().Jobs(w.ns).Get(ctx, "once", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if job.Status.Succeeded < 1 {
		missing = append(missing, "Job once not complete")
	}
	return strings.Join(missing, ", "), nil
}

// snapshot is the state of each long-lived object that must not change:
// identity (UID), spec (generation), data (digest), a claim's volume, and
// for data's pods the token read back from their volume.
func (w *workloads) snapshot(ctx context.Context) (map[string]string, error) {
	s := map[string]string{}
	deps, err := w.c.AppsV1().Deployments(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, d := range deps.Items {
		s["Deployment/"+d.Name] = fmt.Sprintf("uid %s, generation %d", short(d.UID), d.Generation)
	}
	sts, err := w.c.AppsV1().StatefulSets(w.ns).Get(ctx, data, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	s["StatefulSet/"+data] = fmt.Sprintf("uid %s, generation %d", short(sts.UID), sts.Generation)
	pvcs, err := w.c.CoreV1().PersistentVolumeClaims(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, p := range pvcs.Items {
		s["PersistentVolumeClaim/"+p.Name] = fmt.Sprintf("uid %s, volume %s", short(p.UID), p.Spec.VolumeName)
	}
	for i := range *sts.Spec.Replicas {
		pod := fmt.Sprintf("%s-%d", data, i)
		body, err := w.c.CoreV1().Pods(w.ns).ProxyGet("http", pod, fmt.Sprint(wire.HTTPPort), "/state", nil).DoRaw(ctx)
		state := strings.TrimSpace(string(body))
		if err != nil {
			state = "unreadable: " + err.Error()
		}
		s["data in volume of Pod/"+pod] = state
	}
	cm, err := w.c.CoreV1().ConfigMaps(w.ns).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	s["ConfigMap/settings"] = fmt.Sprintf("uid %s, data %s", short(cm.UID), digest(cm.Data))
	sec, err := w.c.CoreV1().Secrets(w.ns).Get(ctx, "credentials", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	bytesData := map[string]string{}
	for k, v := range sec.Data {
		bytesData[k] = string(v)
	}
	s["Secret/credentials"] = fmt.Sprintf("uid %s, data %s", short(sec.UID), digest(bytesData))
	for _, name := range []string{web, single} {
		svc, err := w.c.CoreV1().Services(w.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		s["Service/"+name] = fmt.Sprintf("uid %s, clusterIP %s, nodePort %d", short(svc.UID), svc.Spec.ClusterIP, svc.Spec.Ports[0].NodePort)
	}
	job, err := w.c.BatchV1().Jobs(w.ns).Get(ctx, "once", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	s["Job/once"] = fmt.Sprintf("uid %s, succeeded %d", short(job.UID), job.Status.Succeeded)
	cj, err := w.c.BatchV1().CronJobs(w.ns).Get(ctx, "tick", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	s["CronJob/tick"] = fmt.Sprintf("uid %s, generation %d", short(cj.UID), cj.Generation)
	return s, nil
}

// compare lists every object before and after, naming what changed.
func compare(before, after map[string]string) []upgrade.Object {
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []upgrade.Object
	for _, k := range keys {
		kind, name, _ := strings.Cut(k, "/")
		o := upgrade.Object{Kind: kind, Name: name, Before: before[k], After: after[k]}
		switch a, ok := after[k]; {
		case !ok:
			o.Changed = "gone"
		case a != before[k]:
			o.Changed = "changed"
		}
		out = append(out, o)
	}
	return out
}

func short(uid any) string {
	s := fmt.Sprint(uid)
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

func digest(m map[string]string) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, m[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
