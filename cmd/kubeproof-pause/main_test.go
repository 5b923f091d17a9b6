package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// With -v the process says what it is and exits 0 at once (kubeadm's
// upgrade health check waits for that); without, it runs until signalled.
func TestVersionExits(t *testing.T) {
	if os.Getenv("KUBEPROOF_PAUSE_MAIN") != "" {
		os.Args = append([]string{"pause"}, strings.Fields(os.Getenv("KUBEPROOF_PAUSE_MAIN"))...)
		main()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestVersionExits$")
	cmd.Env = append(os.Environ(), "KUBEPROOF_PAUSE_MAIN=-v")
	done := make(chan error, 1)
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), "kubeproof-pause") {
			t.Errorf("pause -v: want exit 0 and its name printed, got %v %q", err, out.String())
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("pause -v: still running after 10s, want it to exit at once")
	}
}
