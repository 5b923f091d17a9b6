// Package controlplane checks the control plane through what it does:
// its controllers hold and renew their leader Leases, the garbage
// collector removes, keeps or orphans the dependents of a deleted object
// as the deletion's propagation policy asks, and the API server keeps the
// contracts every client relies on: watches that miss nothing and resume,
// optimistic concurrency, server-side apply's field managers, finalizers.
package controlplane
