// Package kindstate remembers, on this machine, the kind clusters
// kubeproof created and the API server each answers on. "kubeproof created
// this cluster" (the consent to break it without --allow-disruptive) is
// decided from that record, the local Docker engine and the kubeconfig's
// server, never from a node label anyone who can patch nodes can set.
package kindstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/kubeproof/kubeproof/internal/atomicfile"
	"github.com/kubeproof/kubeproof/internal/paths"
	"github.com/kubeproof/kubeproof/internal/proc"
)

// Record is one cluster kubeproof created.
type Record struct {
	Name      string    `json:"name"`
	Server    string    `json:"server"`
	CreatedAt time.Time `json:"createdAt"`
	// RunID and PID: a cluster created for one run (`run --kind`) by that
	// runner process, deleted when the run ends; while the process lives
	// the cluster is in use.
	RunID string `json:"runID,omitempty"`
	PID   int    `json:"pid,omitempty"`
}

// Dir is where the records live: clusters/ in kubeproof's state
// directory (~/.local/state/kubeproof/clusters).
func Dir() string { return filepath.Join(paths.StateDir(), "clusters") }

func path(name string) string { return filepath.Join(Dir(), name+".json") }

// Remember records that kubeproof created the kind cluster name, whose
// API server answers at server; runID is the run it was created for ("" for
// a cluster created with `kubeproof cluster create`, which is the user's
// to delete).
func Remember(name, server, runID string) error {
	if err := os.MkdirAll(Dir(), 0o755); err != nil {
		return err
	}
	r := Record{Name: name, Server: server, CreatedAt: time.Now().UTC(), RunID: runID}
	if runID != "" {
		r.PID = os.Getpid()
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path(name), data, 0o644)
}

// Forget removes the record of a deleted cluster; none is fine.
func Forget(name string) error {
	if err := os.Remove(path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Lookup returns the record of a cluster kubeproof created, if any.
func Lookup(name string) (Record, bool, error) {
	data, err := os.ReadFile(path(name))
	if errors.Is(err, os.ErrNotExist) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return Record{}, false, fmt.Errorf("cluster record %s: %w", path(name), err)
	}
	return r, true, nil
}

// Created reports whether kubeproof created the kind cluster kindCluster
// on this machine and server is its API server: the record exists, names
// the same server, and the cluster is still in the local Docker engine.
// It says why not, for the refusal a caller prints.
func Created(kindCluster, server string) (bool, string) {
	if kindCluster == "" {
		return false, "not a kind cluster on this machine"
	}
	r, ok, err := Lookup(kindCluster)
	switch {
	case err != nil:
		return false, err.Error()
	case !ok:
		return false, fmt.Sprintf("kind cluster %s was not created by kubeproof on this machine", kindCluster)
	case !sameServer(r.Server, server):
		return false, fmt.Sprintf("kubeproof created kind cluster %s at %s, but this kubeconfig's server is %s", kindCluster, r.Server, server)
	}
	clusters, err := cluster.NewProvider(cluster.ProviderWithDocker()).List()
	if err != nil || !slices.Contains(clusters, kindCluster) {
		return false, fmt.Sprintf("kind cluster %s is not in this machine's Docker engine", kindCluster)
	}
	return true, ""
}

// Orphans are the clusters created for a run whose runner process is gone:
// the run was killed before it could delete its cluster.
func Orphans() ([]Record, error) {
	files, err := filepath.Glob(filepath.Join(Dir(), "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Record
	var errs []error
	for _, f := range files {
		r, ok, err := Lookup(strings.TrimSuffix(filepath.Base(f), ".json"))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok && r.RunID != "" && !proc.Alive(r.PID) {
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

func sameServer(a, b string) bool {
	return a != "" && strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}
