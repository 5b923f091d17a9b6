package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"k8s.io/client-go/rest"
)

// GetPath GETs a non-resource path of the API server (such as
// /readyz?verbose) as the client's identity, and returns the status and
// the body whatever the status: client-go's REST results drop the body of
// an error answer, which is what a health endpoint's failure says.
func (c *Client) GetPath(ctx context.Context, path string, params map[string]string) (int, []byte, error) {
	rc, ok := c.CoreV1().RESTClient().(*rest.RESTClient)
	if !ok || rc.Client == nil {
		return 0, nil, fmt.Errorf("GET %s: no HTTP client for the API server", path)
	}
	r := rc.Get().AbsPath(path)
	for k, v := range params {
		r = r.Param(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL().String(), nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := rc.Client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}
