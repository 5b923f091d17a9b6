package main

import (
	"slices"
	"testing"
)

func TestOnlyPlainCommandsRunWithoutAsh(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-c", "env"}, []string{"env"}},
		{[]string{"-c", "cat /etc/hosts"}, []string{"cat", "/etc/hosts"}},
		{[]string{"-c", "echo test > /file; sleep 240"}, nil}, // ash's message is what a spec matches
		{[]string{"-c", "echo $HOME"}, nil},
		{[]string{"-c", "env | grep data"}, nil},
		{[]string{"-c", "FOO=1 env"}, nil},
		{[]string{"-c", "exit 3"}, nil},
		{[]string{"-c", "cd /tmp"}, nil},
		{[]string{"script.sh"}, nil},
		{[]string{"-e", "-c", "env"}, nil},
	} {
		if got := direct(c.args); !slices.Equal(got, c.want) {
			t.Errorf("sh %q: want %q, got %q", c.args, c.want, got)
		}
	}
}
