package framework

import (
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// EndpointReady reads an endpoint's ready condition; the API says nil
// means ready.
func EndpointReady(e discoveryv1.Endpoint) bool {
	return e.Conditions.Ready == nil || *e.Conditions.Ready
}

// EndpointName names an endpoint by its target (the pod), else by its
// addresses.
func EndpointName(e discoveryv1.Endpoint) string {
	if e.TargetRef != nil {
		return e.TargetRef.Name
	}
	return strings.Join(e.Addresses, ",")
}
