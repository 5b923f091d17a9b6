// Package runner is `kubeproof run`: pick the target cluster (or create a
// kind one), check it can be used, run the Ginkgo suites with live
// progress, turn the outcome into the results file and its views, and
// remove everything the run created.
package runner
