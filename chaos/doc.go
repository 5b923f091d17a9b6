// Package chaos defines kubeproof's faults: each injector (one package
// each) plans, injects and reverts one kind of failure. What is needed to
// undo a fault is written to the journal before the fault is injected, so
// that `kubeproof chaos revert` can undo it after the runner was
// interrupted, crashed or killed.
package chaos
