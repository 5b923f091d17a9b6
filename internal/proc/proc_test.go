package proc

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestLiveOwner(t *testing.T) {
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	done := exec.Command("true")
	if err := done.Run(); err != nil {
		t.Fatal(err)
	}
	// Killed and not reaped yet: a zombie, which kill(pid, 0) still finds.
	zombie := exec.Command("sleep", "30")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = zombie.Wait() })
	if err := zombie.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", zombie.Process.Pid))
		if strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not become a zombie: %s", zombie.Process.Pid, stat)
		}
		runtime.Gosched()
	}

	for _, c := range []struct {
		owner string
		live  bool
	}{
		{Owner(sleeper.Process.Pid), true},
		{Owner(done.Process.Pid), false},
		{Owner(zombie.Process.Pid), false},
		{Owner(os.Getpid()), false},   // this process owns it: not someone else's live run
		{"elsewhere.example/1", true}, // cannot be checked from here
		{"garbage", false},
	} {
		if got := LiveOwner(c.owner); got != c.live {
			t.Errorf("LiveOwner(%q) = %t, want %t", c.owner, got, c.live)
		}
	}
}
