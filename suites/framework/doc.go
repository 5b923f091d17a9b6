// Package framework is what kubeproof's Ginkgo specs stand on: a namespace
// per spec labelled with the run, cleanup registered next to each create,
// diagnostics dumped when a spec fails, typed labels, the MUST statement
// and measurements each check records, and live progress for the runner.
package framework
