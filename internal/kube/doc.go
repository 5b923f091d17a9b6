// Package kube holds the small client-go helpers kubeproof's suites and
// tools share: clients from kubeconfig, exec in pods, pod readiness.
package kube
