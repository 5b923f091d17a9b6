package workloads

import (
	"strings"
	"testing"
)

// The output streams in pieces that do not end at lines; each interval
// counts once it is whole, and the silent ones are named by offset.
func TestLoadRunReadsStreamedIntervals(t *testing.T) {
	out := `{"start":1000,"ok":20,"failed":0}
log line, not an interval
{"start":1250,"ok":0,"failed":20,"errors":{"refused":20}}
{"start":1750,"ok":19,"failed":1,"errors":{"timeout":1}}
{"start":1000,"ok":39,"failed":21,"final":true}
`
	l := &loadRun{arrived: make(chan struct{}, 1)}
	for len(out) > 0 {
		n := min(7, len(out))
		if _, err := l.Write([]byte(out[:n])); err != nil {
			t.Fatal(err)
		}
		out = out[n:]
	}
	got, ended, _ := l.state()
	if len(got) != 3 || !ended || l.totals().OK != 39 {
		t.Fatalf("want 3 intervals and the totals, got %+v, ended %t", got, ended)
	}
	silent := strings.Join(l.silent(), "; ")
	if want := "+0.25s: 0 ok, 20 failed (refused=20); +0.50s: no requests"; silent != want {
		t.Errorf("silent: want %q, got %q", want, silent)
	}
	if failures := strings.Join(l.failures(), "; "); !strings.Contains(failures, "+0.75s: 19 ok, 1 failed (timeout=1)") {
		t.Errorf("failures: got %q", failures)
	}
}
