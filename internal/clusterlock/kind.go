package clusterlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kubeproof/kubeproof/internal/paths"
)

// KindLock is a held lock on a kind cluster name on this machine. The
// kernel releases it when the process ends, however it ends, so it never
// goes stale.
type KindLock struct{ f *os.File }

// Kind locks the kind cluster name for who ("run X", "cluster create"),
// or fails with ErrBusy naming the holder. Runs hold it for their whole
// length; `cluster create` and `cluster delete` while they act.
func Kind(name, who string) (*KindLock, error) {
	dir := filepath.Join(paths.StateDir(), "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "kind-"+name+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: kind cluster %s is in use by %s; wait for it to end", ErrBusy, name, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("lock kind cluster %s: %w", name, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("%s (pid %d)\n", who, os.Getpid())), 0)
	}
	return &KindLock{f: f}, nil
}

// Unlock releases the lock; nil is fine.
func (l *KindLock) Unlock() {
	if l != nil {
		l.f.Close()
	}
}
