package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Requests the API server refused for want of permission (RBAC: 403 with
// "User ... cannot ..."), as this process saw them. Refusals on policy
// (admission, Pod Security) are not counted: a check reports those itself.
// A run with a least-privilege role must see none.
var refusals struct {
	sync.Mutex
	n     int
	first []string
}

// Refusals returns how many requests the API server refused this process
// so far, and the first of them, one line each: "GET /api/v1/nodes: nodes
// is forbidden: User ... cannot list ...".
func Refusals() (n int, first []string) {
	refusals.Lock()
	defer refusals.Unlock()
	return refusals.n, append([]string(nil), refusals.first...)
}

// maxRefusals bounds what is kept: a loop refused again and again says
// nothing new after the first few.
const maxRefusals = 50

var permissionDenied = regexp.MustCompile(`: User ".*" cannot `)

// refusalCounter records the permission refusals that pass through it.
type refusalCounter struct{ next http.RoundTripper }

func (r refusalCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusForbidden || req.Context().Value(uncountedKey{}) != nil {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil
	}
	var status metav1.Status
	if json.Unmarshal(body, &status) != nil || !permissionDenied.MatchString(status.Message) {
		return resp, nil
	}
	refusals.Lock()
	defer refusals.Unlock()
	refusals.n++
	if len(refusals.first) < maxRefusals {
		refusals.first = append(refusals.first, fmt.Sprintf("%s %s: %s", req.Method, req.URL.Path, status.Message))
	}
	return resp, nil
}

type uncountedKey struct{}

// Uncounted marks requests whose 403 is not a refusal of the run's
// permissions: a probe of an API server that is starting, whose
// authorizer refuses everyone until it has loaded its RBAC objects.
func Uncounted(ctx context.Context) context.Context {
	return context.WithValue(ctx, uncountedKey{}, true)
}
