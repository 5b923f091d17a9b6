// Package pods checks the pod model itself: containers of one pod share
// localhost and volumes after their init containers ran in order, probes
// restart or unlist a container as their kind says, and a Job completes
// through a sidecar that starts first and stops last.
package pods
