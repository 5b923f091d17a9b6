// Package resilience breaks one node at a time and checks, phase by phase
// and against the cluster's own timing settings, that the cluster notices,
// moves the work away, keeps serving, and heals once the fault is reverted.
package resilience
