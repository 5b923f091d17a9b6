package nodeimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kubeproof/kubeproof/internal/gobuild"
)

// preloadImages writes the component images and imports them into the
// node's containerd store. A private containerd on this machine works
// directly on the node's /var/lib/containerd; images stay packed
// (--no-unpack) and the node's containerd unpacks each on first use.
func (b *builder) preloadImages(ctx context.Context) error {
	specs, err := b.componentImages()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "kubeproof-preload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var archives []string
	for i, s := range specs {
		out := filepath.Join(tmp, fmt.Sprintf("image-%d.tar", i))
		if err := writeImage(s, out); err != nil {
			return fmt.Errorf("image %s: %w", s.ref, err)
		}
		archives = append(archives, out)
	}
	stop, sock, err := startContainerd(ctx, tmp, filepath.Join(b.workDir(), "var/lib/containerd"))
	if err != nil {
		return err
	}
	defer stop()
	for i, archive := range archives {
		if err := gobuild.Run(ctx, "", nil, "ctr", "--address", sock, "--namespace", "k8s.io", "images", "import", "--no-unpack", "--all-platforms", "--digests", archive); err != nil {
			return err
		}
		fmt.Fprintf(b.Log, "  %s\n", specs[i].ref)
	}
	return nil
}

// startContainerd runs a containerd whose root is the node's store, with
// its socket and state in tmp, and returns how to stop it.
func startContainerd(ctx context.Context, tmp, root string) (func(), string, error) {
	sock := filepath.Join(tmp, "containerd.sock")
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, root, filepath.Join(tmp, "state"), sock, sock+".ttrpc", filepath.Join(tmp, "opt"))
	configPath := filepath.Join(tmp, "containerd.toml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		return nil, "", err
	}
	logFile, err := os.Create(filepath.Join(tmp, "containerd.log"))
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command("containerd", "--config", configPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, "", fmt.Errorf("start containerd: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if exec.CommandContext(ctx, "ctr", "--address", sock, "version").Run() == nil {
			return stop, sock, nil
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(filepath.Join(tmp, "containerd.log"))
			return nil, "", fmt.Errorf("private containerd did not start:\n%s", gobuild.Tail(log, 10))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// netImageRef names the network agent image after its binary's content.
func netImageRef(binary string) (string, error) {
	data, err := os.ReadFile(binary)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return "kubeproof.local/net:" + strings.ToLower(hex.EncodeToString(sum[:])[:12]), nil
}
