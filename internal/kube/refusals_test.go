package kube

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A 403 that says "User ... cannot" counts as a refusal of the run's
// permissions, unless the request's context marks it uncounted.
func TestRefusalsCountPermissionDenialsNotUncountedProbes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"forbidden: User \"u\" cannot get path \"/readyz\"","reason":"Forbidden","code":403}`))
	}))
	defer srv.Close()
	rt := refusalCounter{http.DefaultTransport}
	get := func(ctx context.Context) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/readyz", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	before, _ := Refusals()
	get(Uncounted(t.Context()))
	if n, _ := Refusals(); n != before {
		t.Errorf("an uncounted request's 403: want %d refusals, got %d", before, n)
	}
	get(t.Context())
	if n, _ := Refusals(); n != before+1 {
		t.Errorf("a 403 saying User cannot: want %d refusals, got %d", before+1, n)
	}
}
