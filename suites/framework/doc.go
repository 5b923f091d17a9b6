// Package framework is what kubeproof's Ginkgo specs stand on: a namespace
// per spec labelled with the run, cleanup registered next to each create,
// diagnostics dumped when a spec fails, typed labels, the MUST statement
// and measurements each check records, live progress for the runner, and
// one kit for waiting (Poll, WaitFor: one-line failures) and watching
// (Tracker: timings from watch events).
package framework
