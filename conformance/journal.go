package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeproof/kubeproof/internal/atomicfile"
	"github.com/kubeproof/kubeproof/internal/kube"
	"github.com/kubeproof/kubeproof/internal/paths"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// e2eNamespaceLabel is on every namespace the e2e framework creates (its
// value is the spec's base name).
const e2eNamespaceLabel = "e2e-framework"

// journal records, on this machine, the namespaces the suite creates
// during a run, as they appear: the e2e framework deletes them when a spec
// ends, but not if the run is killed. kubeproof cleanup deletes what a
// journal of a run that is gone lists (by UID, so only those objects).
// A namespace is the run's when the API server recorded the run's own
// field manager on it: e2e.test runs under a name of the run's (see
// runBinary), and the API server names the manager after the binary.
type journal struct {
	Owner   string `json:"owner"` // proc.Owner of the run
	Server  string `json:"server"`
	Manager string `json:"manager"`
	// Group is the process group of Ginkgo and the spec processes.
	Group      int         `json:"group,omitempty"`
	Started    time.Time   `json:"started"`
	Namespaces []journaled `json:"namespaces"`
	// Objects are the cluster-scoped objects the run created.
	Objects []journaledObject `json:"objects,omitempty"`

	path string
	mu   sync.Mutex
	warn io.Writer // what the journal cannot record
}

type journaled struct {
	Name string    `json:"name"`
	UID  types.UID `json:"uid"`
}

func journalDir() string { return filepath.Join(paths.StateDir(), "conformance") }

// startJournal writes an empty journal and records each namespace with
// the e2e framework's label created from now on, until ctx ends.
func startJournal(ctx context.Context, c *kube.Client, manager string, warn io.Writer) (*journal, error) {
	j := &journal{Owner: proc.Owner(os.Getpid()), Server: c.Config.Host, Manager: manager, Started: time.Now().UTC().Truncate(time.Second), warn: warn}
	j.path = filepath.Join(journalDir(), fmt.Sprintf("run-%d-%d.json", os.Getpid(), j.Started.Unix()))
	if err := os.MkdirAll(journalDir(), 0o755); err != nil {
		return nil, err
	}
	if err := j.save(); err != nil {
		return nil, err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = e2eNamespaceLabel }))
	informer := factory.Core().V1().Namespaces().Informer()
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok && managedBy(ns, j.Manager) {
			j.add(ns)
		}
	}}); err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return nil, fmt.Errorf("watch the suite's namespaces: %w", ctx.Err())
	}
	if err := j.watchClusterScoped(ctx, c); err != nil {
		return nil, err
	}
	return j, nil
}

// managedBy: the API server recorded manager as a writer of the object.
func managedBy(o metav1.Object, manager string) bool {
	for _, f := range o.GetManagedFields() {
		if f.Manager == manager {
			return true
		}
	}
	return false
}

func (j *journal) addObject(o journaledObject) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.Objects = append(j.Objects, o)
	if err := j.saveLocked(); err != nil {
		fmt.Fprintf(os.Stderr, "kubeproof: record %s in %s: %v\n", o, j.path, err)
	}
}

func (j *journal) add(ns *corev1.Namespace) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.Namespaces = append(j.Namespaces, journaled{Name: ns.Name, UID: ns.UID})
	if err := j.saveLocked(); err != nil {
		fmt.Fprintf(os.Stderr, "kubeproof: record namespace %s in %s: %v\n", ns.Name, j.path, err)
	}
}

// group records the spec processes' process group.
func (j *journal) group(pgid int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.Group = pgid
	if err := j.saveLocked(); err != nil {
		fmt.Fprintf(os.Stderr, "kubeproof: record the process group in %s: %v\n", j.path, err)
	}
}

func (j *journal) save() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.saveLocked()
}

func (j *journal) saveLocked() error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(j.path, data, 0o644)
}

// finish deletes what the suite left of the journal's namespaces (the
// framework deletes its own: normally nothing) and removes the journal.
func (j *journal) finish(ctx context.Context, c *kube.Client) []string {
	j.mu.Lock()
	list, objects := slices.Clone(j.Namespaces), slices.Clone(j.Objects)
	j.mu.Unlock()
	_, failed := deleteJournaled(ctx, c, list)
	_, failedObjects := deleteObjects(ctx, c, objects)
	failed = append(failed, failedObjects...)
	if len(failed) == 0 {
		os.Remove(j.path)
	}
	return failed
}

// deleteJournaled deletes the namespaces that still exist with their
// recorded UID: another object of the same name is not touched.
func deleteJournaled(ctx context.Context, c *kube.Client, list []journaled) (deleted, failed []string) {
	for _, n := range list {
		uid := n.UID
		err := c.CoreV1().Namespaces().Delete(ctx, n.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		switch {
		case err == nil:
			deleted = append(deleted, "namespace "+n.Name)
		case !apierrors.IsNotFound(err) && !apierrors.IsConflict(err):
			failed = append(failed, fmt.Sprintf("namespace %s: %v", n.Name, err))
		}
	}
	return deleted, failed
}

// CleanupNamespaces deletes the namespaces that conformance runs on this
// machine recorded in this cluster (the client's API server) and whose
// run is gone (or every run's, with force), and removes their journals.
// It returns what it deleted, what it could not, and the live runs it
// left alone.
func CleanupNamespaces(ctx context.Context, c *kube.Client, force bool) (deleted, failed, skipped []string) {
	files, err := filepath.Glob(filepath.Join(journalDir(), "run-*.json"))
	if err != nil {
		return nil, []string{err.Error()}, nil
	}
	for _, f := range files {
		var j journal
		data, err := os.ReadFile(f)
		if err == nil {
			err = json.Unmarshal(data, &j)
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("conformance journal %s: %v", f, err))
			continue
		}
		if strings.TrimSuffix(j.Server, "/") != strings.TrimSuffix(c.Config.Host, "/") {
			continue // another cluster's
		}
		if !force && proc.LiveOwner(j.Owner) {
			skipped = append(skipped, fmt.Sprintf("the namespaces of the conformance run %s (still live)", j.Owner))
			continue
		}
		// The spec processes of a killed run go on creating namespaces:
		// they go first (only processes that run this run's binary).
		if host, _, _ := strings.Cut(j.Owner, "/"); host == proc.Host() {
			if stopped := stopGroup(j.Group, j.Manager); stopped > 0 {
				deleted = append(deleted, fmt.Sprintf("%d spec process(es) of process group %d", stopped, j.Group))
			}
		}
		var present []journaled
		for _, n := range j.Namespaces {
			ns, err := c.CoreV1().Namespaces().Get(ctx, n.Name, metav1.GetOptions{})
			if err == nil && ns.UID == n.UID && ns.DeletionTimestamp == nil {
				present = append(present, n)
			}
		}
		gone, left := deleteJournaled(ctx, c, present)
		deleted, failed = append(deleted, gone...), append(failed, left...)
		gone, left = deleteObjects(ctx, c, j.Objects)
		deleted, failed = append(deleted, gone...), append(failed, left...)
		if len(left) == 0 {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				failed = append(failed, err.Error())
			}
		}
	}
	return deleted, failed, skipped
}

// stopGroup kills the live processes of group pgid that run the run's
// binary (named manager) and waits for them to be gone; it returns how
// many there were.
func stopGroup(pgid int, manager string) int {
	pids := proc.Group(pgid, manager)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(proc.Group(pgid, manager)) > 0; {
		time.Sleep(100 * time.Millisecond)
	}
	return len(pids)
}
