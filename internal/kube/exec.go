package kube

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
)

// Exec runs a command in a pod's container and returns its stdout. A
// non-zero exit is an error that carries stderr.
func (c *Client) Exec(ctx context.Context, ns, pod, container string, command ...string) (string, error) {
	var stdout bytes.Buffer
	err := c.ExecStream(ctx, ns, pod, container, nil, &stdout, command...)
	return stdout.String(), err
}

// ExecStream runs a command in a pod's container, feeding it stdin (nil:
// none) and writing its stdout to stdout as it comes, and returns when the
// command has ended. Closing stdin's writer ends the command's input. A
// non-zero exit is an error that carries stderr.
func (c *Client) ExecStream(ctx context.Context, ns, pod, container string, stdin io.Reader, stdout io.Writer, command ...string) error {
	req := c.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   command,
			Stdin:     stdin != nil,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	exec, err := remotecommand.NewSPDYExecutor(c.Config, "POST", req.URL())
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: &stderr})
	if err != nil {
		return fmt.Errorf("exec %q in %s/%s: %w: %s", strings.Join(command, " "), ns, pod, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
