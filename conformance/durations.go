package conformance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kubeproof/kubeproof/conformance/bundle"
	"github.com/kubeproof/kubeproof/internal/atomicfile"
)

// durationsFile keeps, per suite version, how long each spec took when it
// last ran here: the estimate of a run's length and of what is left.
func durationsFile(s *Suite) string {
	return filepath.Join(filepath.Dir(filepath.Dir(s.E2E)), "durations.json")
}

func loadDurations(s *Suite) map[string]float64 {
	d := map[string]float64{}
	if data, err := os.ReadFile(durationsFile(s)); err == nil {
		_ = json.Unmarshal(data, &d) // a bad file only loses the estimate
	}
	return d
}

// saveDurations adds a run's spec durations to the file.
func saveDurations(s *Suite, specs []bundle.Outcome) error {
	d := loadDurations(s)
	for _, o := range specs {
		d[o.Name] = o.Seconds
	}
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(durationsFile(s), data, 0o644)
}

// estimate is what is left of a run, from earlier durations: [Serial]
// specs one after another, the others spread over the processes.
type estimate struct {
	left  map[string]float64
	procs int
	mean  float64 // a spec never timed here is taken to last this
	total int     // specs the run has; -1 until Ginkgo says
	ended int
}

// newEstimate selects the known specs the filters select (Ginkgo's focus
// and skip are Go regular expressions over the same text); nil when none
// is known.
func newEstimate(known map[string]float64, focus, skip string, procs int) *estimate {
	f, errF := regexp.Compile(focus)
	k, errK := regexp.Compile(skip)
	if errF != nil || errK != nil {
		return nil
	}
	e := &estimate{left: map[string]float64{}, procs: max(procs, 1), total: -1}
	var sum float64
	for name, secs := range known {
		sum += secs
		if (focus == "" || f.MatchString(name)) && (skip == "" || !k.MatchString(name)) {
			e.left[name] = secs
		}
	}
	if len(e.left) == 0 {
		return nil
	}
	e.mean = sum / float64(len(known))
	return e
}

// runs sets the number of specs the run has: those never timed here are
// counted at the mean of those that were.
func (e *estimate) runs(total int) {
	if e != nil {
		e.total = total
	}
}

// done takes a finished spec off (its text as the log prints it).
func (e *estimate) done(name string) {
	if e != nil {
		e.ended++
		delete(e.left, name)
	}
}

// remaining is the time the specs not yet finished took last time.
func (e *estimate) remaining() time.Duration {
	var serial, parallel float64
	for name, secs := range e.left {
		if strings.Contains(name, "[Serial]") {
			serial += secs
		} else {
			parallel += secs
		}
	}
	if untimed := e.total - e.ended - len(e.left); untimed > 0 {
		parallel += float64(untimed) * e.mean
	}
	d := time.Duration((serial + parallel/float64(e.procs)) * float64(time.Second))
	if d >= time.Minute {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}
