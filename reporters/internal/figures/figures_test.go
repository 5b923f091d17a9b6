package figures

import "testing"

func TestValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{21.317334413, "s", "21.3 s"},
		{1.5105, "ms", "1.51 ms"},
		{112.98796678153775, "MiB/s", "113 MiB/s"},
		{7, "pods", "7 pods"},
		{1, "pods", "1 pod"},
		{1, "ms", "1 ms"},
		{71.66666666666667, "%", "71.7%"},
		{99.96, "%", "99.96%"},      // must not read as 100%
		{0.9999, "ratio", "99.99%"}, // nor here
		{0.0004, "ratio", "0.04%"},
		{1, "ratio", "100%"},
		{0.0523, "", "0.0523"},
		{-4.069349463, "s", "-4.07 s"},
	} {
		if got := Value(tc.v, tc.unit); got != tc.want {
			t.Errorf("Value(%v, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}
