// Package workloads checks the workload controllers: ReplicaSets that heal
// (replace deleted pods, restart crashed containers in place, scale,
// adopt and release pods) and Deployments that roll out without dropping
// traffic, honour maxSurge and maxUnavailable, roll back, pause, recreate,
// and report a rollout that cannot progress.
package workloads
