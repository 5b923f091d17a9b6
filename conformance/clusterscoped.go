package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeproof/kubeproof/internal/kube"
)

// journaledObject is a cluster-scoped object a run created: the specs
// make CustomResourceDefinitions, APIServices, admission webhooks and
// policies, ClusterRoles, PriorityClasses... and delete them when they
// end, but not if the run is killed. A dangling APIService or webhook
// can break the API for everyone, so they are recorded like namespaces.
type journaledObject struct {
	Group    string    `json:"group,omitempty"`
	Version  string    `json:"version"`
	Resource string    `json:"resource"`
	Name     string    `json:"name"`
	UID      types.UID `json:"uid"`
}

func (o journaledObject) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: o.Group, Version: o.Version, Resource: o.Resource}
}

func (o journaledObject) String() string {
	r := o.Resource
	if o.Group != "" {
		r += "." + o.Group
	}
	return r + " " + o.Name
}

// clusterResources lists the cluster-scoped resources the run may create
// and that can be watched and deleted: all but namespaces (journaled on
// their own) and nodes (the cluster's, never the suite's).
func clusterResources(c discovery.DiscoveryInterface) ([]schema.GroupVersionResource, error) {
	lists, err := c.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("discover the cluster's resources: %w", err)
	}
	var out []schema.GroupVersionResource
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if r.Namespaced || strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "watch") || !slices.Contains(r.Verbs, "delete") {
				continue
			}
			if gv.Group == "" && (r.Name == "namespaces" || r.Name == "nodes") {
				continue
			}
			out = append(out, gv.WithResource(r.Name))
		}
	}
	return out, nil
}

// watchClusterScoped records, until ctx ends, every cluster-scoped object
// that appears written by manager: a new object's only writer is its
// creator, so one the run merely changed later is never taken for its.
func (j *journal) watchClusterScoped(ctx context.Context, c *kube.Client) error {
	gvrs, err := clusterResources(c.Discovery())
	if err != nil {
		return err
	}
	meta, err := metadata.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	factory := metadatainformer.NewSharedInformerFactory(meta, 0)
	synced := map[schema.GroupVersionResource]cache.InformerSynced{}
	for _, gvr := range gvrs {
		informer := factory.ForResource(gvr).Informer()
		if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok && createdBy(m, j.Manager) {
				j.addObject(journaledObject{Group: gvr.Group, Version: gvr.Version, Resource: gvr.Resource, Name: m.Name, UID: m.UID})
			}
		}}); err != nil {
			return err
		}
		synced[gvr] = informer.HasSynced
	}
	factory.Start(ctx.Done())
	// A resource the API lists but cannot serve (an aggregated API that is
	// down) never syncs: the run goes on without it, saying so.
	syncCtx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	for gvr, hasSynced := range synced {
		if !cache.WaitForCacheSync(syncCtx.Done(), hasSynced) {
			if ctx.Err() != nil {
				return fmt.Errorf("watch the cluster-scoped objects: %w", ctx.Err())
			}
			fmt.Fprintf(j.warn, "warning: %s could not be listed within %s: objects of it the run leaves are not recorded\n", gvr.GroupResource(), syncTimeout)
		}
	}
	return nil
}

// syncTimeout bounds the first list of every cluster-scoped resource.
const syncTimeout = 30 * time.Second

// createdBy: manager is the object's only writer, as when it has just
// been created by it.
func createdBy(o metav1.Object, manager string) bool {
	fields := o.GetManagedFields()
	return len(fields) > 0 && !slices.ContainsFunc(fields, func(f metav1.ManagedFieldsEntry) bool { return f.Manager != manager })
}

// deleteObjects deletes the recorded objects that still exist with their
// recorded UID (another object of the same name is not touched).
func deleteObjects(ctx context.Context, c *kube.Client, list []journaledObject) (deleted, failed []string) {
	if len(list) == 0 {
		return nil, nil
	}
	meta, err := metadata.NewForConfig(c.Config)
	if err != nil {
		return nil, []string{err.Error()}
	}
	for _, o := range list {
		uid := o.UID
		err := meta.Resource(o.gvr()).Delete(ctx, o.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		switch {
		case err == nil:
			deleted = append(deleted, o.String())
		case !apierrors.IsNotFound(err) && !apierrors.IsConflict(err):
			failed = append(failed, fmt.Sprintf("%s: %v", o, err))
		}
	}
	return deleted, failed
}
