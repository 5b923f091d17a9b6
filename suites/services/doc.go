// Package services checks service exposure: ClusterIP, NodePort,
// headless, session affinity, endpoints following readiness, rejection
// without endpoints, hairpin, multi-port and ExternalName services.
package services
