package proc

import (
	"os"
	"os/exec"
	"testing"
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
	for _, c := range []struct {
		owner string
		live  bool
	}{
		{Owner(sleeper.Process.Pid), true},
		{Owner(done.Process.Pid), false},
		{Owner(os.Getpid()), false},   // this process owns it: not someone else's live run
		{"elsewhere.example/1", true}, // cannot be checked from here
		{"garbage", false},
	} {
		if got := LiveOwner(c.owner); got != c.live {
			t.Errorf("LiveOwner(%q) = %t, want %t", c.owner, got, c.live)
		}
	}
}
