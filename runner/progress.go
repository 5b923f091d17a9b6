package runner

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/reporters/results"
	"github.com/kubeproof/kubeproof/suites/contract"
)

// progressTail prints the specs' progress file as it grows:
// "[  3/21  0m12s] PASS pod networking pod-to-pod ... (1.2s)".
type progressTail struct {
	path   string
	out    io.Writer
	offset int64
	total  int
	done   int
	start  time.Time
}

func newProgressTail(path string, out io.Writer) *progressTail {
	return &progressTail{path: path, out: out, start: time.Now()}
}

func (t *progressTail) poll() {
	f, err := os.Open(t.path)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(t.offset, io.SeekStart); err != nil {
		return
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return // a partial line waits for the next poll
		}
		t.offset += int64(len(line))
		var ev contract.ProgressEvent
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		if ev.Start {
			t.total = ev.Total
			fmt.Fprintf(t.out, "running %d checks\n", t.total)
			continue
		}
		if ev.State == "skipped" && ev.Reason == "" {
			continue
		}
		t.done++
		elapsed := time.Since(t.start).Round(time.Second)
		fmt.Fprintf(t.out, "[%3d/%d %6s] %-4s %s (%.1fs)\n", t.done, t.total, elapsed, results.Mark(ev.State), ev.Spec, ev.Seconds)
		if ev.Reason != "" {
			fmt.Fprintf(t.out, "             %s\n", strings.SplitN(strings.TrimSpace(ev.Reason), "\n", 2)[0])
		}
	}
}
