package kube

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// Forward is one port-forward connection to a pod, through the API server
// and the pod's kubelet (never the pod network). Each Get is an HTTP
// exchange with a port on the pod's loopback, on its own pair of streams,
// as kubectl port-forward opens one per local connection.
type Forward struct {
	ns, pod string
	conn    httpstream.Connection
	next    atomic.Int64
}

// PortForward opens a port-forward connection to a pod. Close it when
// done.
func (c *Client) PortForward(ns, pod string) (*Forward, error) {
	transport, upgrader, err := spdy.RoundTripperFor(c.Config)
	if err != nil {
		return nil, err
	}
	req := c.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("portforward")
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, req.URL())
	conn, protocol, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s/%s: %w", ns, pod, err)
	}
	if protocol != portforward.PortForwardProtocolV1Name {
		conn.Close()
		return nil, fmt.Errorf("port-forward to %s/%s: the kubelet speaks %q, not %q", ns, pod, protocol, portforward.PortForwardProtocolV1Name)
	}
	return &Forward{ns: ns, pod: pod, conn: conn}, nil
}

// Close ends the connection.
func (f *Forward) Close() error { return f.conn.Close() }

// Get sends GET path to port on the pod's loopback and returns the status
// and body of the answer. An error means no answer: the kubelet's reason
// (nothing listening, the pod gone) when it gave one.
func (f *Forward) Get(ctx context.Context, port int, path string) (int, []byte, error) {
	headers := http.Header{}
	headers.Set(corev1.StreamType, corev1.StreamTypeError)
	headers.Set(corev1.PortHeader, strconv.Itoa(port))
	headers.Set(corev1.PortForwardRequestIDHeader, strconv.FormatInt(f.next.Add(1), 10))
	errStream, err := f.conn.CreateStream(headers)
	if err != nil {
		return 0, nil, f.fail(port, path, err)
	}
	defer f.conn.RemoveStreams(errStream)
	_ = errStream.Close() // nothing to send on it
	kubelet := make(chan string, 1)
	go func() {
		msg, _ := io.ReadAll(errStream)
		kubelet <- strings.TrimSpace(string(msg))
	}()
	headers.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := f.conn.CreateStream(headers)
	if err != nil {
		return 0, nil, f.fail(port, path, err)
	}
	defer f.conn.RemoveStreams(data)
	// The context ends the exchange: resetting the stream unblocks the read.
	stop := context.AfterFunc(ctx, func() { _ = data.Reset() })
	defer stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://localhost"+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Close = true
	status, body, err := exchange(req, data)
	_ = data.Reset()
	if err != nil {
		// The kubelet ends its error stream once the data stream is over;
		// an exchange cut short by the context has no reason there.
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		} else if msg := <-kubelet; msg != "" {
			err = fmt.Errorf("%w (kubelet: %s)", err, msg)
		}
		return 0, nil, f.fail(port, path, err)
	}
	return status, body, nil
}

// exchange writes the request on the stream and reads the whole answer.
func exchange(req *http.Request, stream io.ReadWriter) (int, []byte, error) {
	if err := req.Write(stream); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(stream), req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func (f *Forward) fail(port int, path string, err error) error {
	return fmt.Errorf("GET %s on port %d of pod %s/%s through a port-forward: %w", path, port, f.ns, f.pod, err)
}
