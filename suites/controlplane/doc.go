// Package controlplane checks the control plane through what it does:
// its controllers hold and renew their leader Leases, and the garbage
// collector removes, keeps or orphans the dependents of a deleted object
// as the deletion's propagation policy asks.
package controlplane
