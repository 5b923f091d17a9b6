package proc

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
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

func TestGroupFindsOnlyItsMarkedMembers(t *testing.T) {
	leader := exec.Command("sh", "-c", "sleep 31 & sleep 32 & wait")
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-leader.Process.Pid, syscall.SIGKILL); _ = leader.Wait() })
	other := exec.Command("sleep", "31") // same command, another group
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	var got []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = Group(leader.Process.Pid, "sleep 31"); len(got) == 2 {
			break
		}
	}
	if len(got) != 2 || !slices.Contains(got, leader.Process.Pid) || slices.Contains(got, other.Process.Pid) {
		t.Errorf("Group(%d, sleep 31) = %v: want the shell that ran it and its sleep 31, not sleep 32 nor the other group's %d", leader.Process.Pid, got, other.Process.Pid)
	}
	if got := Group(leader.Process.Pid, "not what it ran"); len(got) != 0 {
		t.Errorf("a mark the group did not run: want none, got %v", got)
	}
}
