// Package pods checks the pod model itself: containers of one pod share
// localhost and volumes after their init containers ran in order, probes
// restart or unlist a container as their kind says, a Job completes
// through a sidecar that starts first and stops last, and the downward API
// gives a pod its own fields.
package pods
