// Package conformance runs the upstream Kubernetes conformance suite
// offline: the e2e.test of the cluster's version built from the Go module
// proxy (BuildSuite), the images its [Conformance] specs run built here
// from Go modules and Debian packages under the names the suite expects
// (Images, BuildImages) and side-loaded into kind nodes.
package conformance
