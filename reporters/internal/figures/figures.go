// Package figures prints measurements the same way in every view (HTML,
// Markdown, diff), so one figure never reads differently in two places.
package figures

import (
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Number prints about three significant digits, never in exponent form,
// without trailing zeros: 21.3, 1.51, 113, 0.052.
func Number(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	decimals := 2 - int(math.Floor(math.Log10(math.Abs(v))))
	decimals = max(0, min(decimals, 4))
	return trimZeros(strconv.FormatFloat(v, 'f', decimals, 64))
}

// Value prints a figure with its unit; ratios read as percentages.
func Value(v float64, unit string) string {
	switch unit {
	case "":
		return Number(v)
	case "%":
		return Percent(v)
	case "ratio":
		return Percent(100 * v)
	}
	s := Number(v)
	if s == "1" {
		unit = singular(unit)
	}
	return s + " " + unit
}

// Percent keeps as many decimals as it takes for 99.96% not to read as
// 100% (nor 0.04% as 0%): a success ratio is read for exactly that.
func Percent(p float64) string {
	s := trimZeros(strconv.FormatFloat(p, 'f', 1, 64))
	for d := 2; d <= 4 && (s == "100" && p != 100 || s == "0" && p != 0); d++ {
		s = trimZeros(strconv.FormatFloat(p, 'f', d, 64))
	}
	return s + "%"
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// singular turns "1 pods" into "1 pod"; units such as "ms" or "MiB/s" stay.
func singular(unit string) string {
	if len(unit) > 3 && strings.HasSuffix(unit, "s") && strings.IndexFunc(unit, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
		return strings.TrimSuffix(unit, "s")
	}
	return unit
}

// Plural is word, with an s unless n is 1.
func Plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
