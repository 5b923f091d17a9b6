package bundle

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// minorReleases is when each Kubernetes minor came out (its vX.Y.0), from
// kubernetes/sig-release releases/release-X.Y/README.md. Add each new minor
// as it is scheduled: past the last entry the table cannot tell which
// minors are supported, and the check says so.
var minorReleases = []struct {
	minor int
	date  time.Time
}{
	{28, day(2023, time.August, 15)},
	{29, day(2023, time.December, 13)},
	{30, day(2024, time.April, 17)},
	{31, day(2024, time.August, 13)},
	{32, day(2024, time.December, 11)},
	{33, day(2025, time.April, 23)},
	{34, day(2025, time.August, 27)},
	{35, day(2025, time.December, 17)},
	{36, day(2026, time.April, 22)},
	{37, day(2026, time.August, 26)},
	{38, day(2026, time.December, 16)}, // planned date
}

const (
	// supportedCount is how many minors the bot accepts: the newest stable
	// one and the two before it (verify-conformance internal/suite/suite.go,
	// lastSupportingVersions = 2, against the stable.txt of that day).
	supportedCount = 3
	// staleAfter is how long after the table's last minor it still judges.
	// A minor comes out every 15 to 17 weeks; later, one is missing.
	staleAfter = 150 * 24 * time.Hour
)

func day(year int, month time.Month, d int) time.Time {
	return time.Date(year, month, d, 0, 0, 0, 0, time.UTC)
}

// supportedMinors returns the range of minors (v1.oldest to v1.newest) the
// bot accepts on now: the newest minor released by then and the two
// before it.
func supportedMinors(now time.Time) (oldest, newest int, err error) {
	newest = -1
	var released time.Time
	for _, r := range minorReleases {
		if !now.Before(r.date) {
			newest, released = r.minor, r.date
		}
	}
	if newest < 0 {
		return 0, 0, fmt.Errorf("want a date after v1.%d's release (%s), got %s",
			minorReleases[0].minor, minorReleases[0].date.Format(time.DateOnly), now.Format(time.DateOnly))
	}
	last := minorReleases[len(minorReleases)-1]
	if newest == last.minor && now.Sub(released) > staleAfter {
		return 0, 0, fmt.Errorf("want a release table that covers %s, got one ending with v1.%d (%s): add the newer minors to minorReleases",
			now.Format(time.DateOnly), last.minor, last.date.Format(time.DateOnly))
	}
	return newest - (supportedCount - 1), newest, nil
}

// releaseListed matches one release in a spec's Release field.
var releaseListed = regexp.MustCompile(`^v1\.([0-9]+)$`)

// requiredFor keeps the specs required of a v1.<minor> submission. As the
// bot does, a spec counts from the first release its Release field lists,
// so a list newer than the folder asks nothing the folder's release lacks.
// A spec whose Release does not parse is kept.
func requiredFor(specs []Spec, minor int) []Spec {
	var out []Spec
	for _, s := range specs {
		if first, ok := firstRelease(s.Release); ok && minor >= 0 && first > minor {
			continue
		}
		out = append(out, s)
	}
	return out
}

// firstRelease returns the lowest minor of a Release field such as
// "v1.17, v1.21, v1.27".
func firstRelease(field string) (minor int, ok bool) {
	for _, r := range strings.Split(field, ",") {
		m := releaseListed.FindStringSubmatch(strings.TrimSpace(r))
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		if !ok || n < minor {
			minor, ok = n, true
		}
	}
	return minor, ok
}
