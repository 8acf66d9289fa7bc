package judge

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Unit says how an allowed degradation is measured.
type Unit string

const (
	// PercentagePoints is an absolute increase of a rate: "+0.5pp" allows
	// 1.0% errors on the canary when the primary has 0.5%.
	PercentagePoints Unit = "pp"
	// Percent is a relative increase: "+10%" allows a canary 1.1 times as
	// slow as the primary.
	Percent Unit = "%"
)

// maxMarginLength bounds the text a tenant can hand to ParseMargin.
const maxMarginLength = 32

// Margin is an allowed degradation of the canary against the primary.
type Margin struct {
	// Value is the size of the allowed degradation, in Unit; never negative.
	Value float64 `json:"value"`
	// Unit is PercentagePoints or Percent.
	Unit Unit `json:"unit"`
}

// ParseMargin reads an allowed degradation written as a non-negative number
// with an optional leading "+" and a unit: "+0.5pp" (percentage points) or
// "+10%" (percent). Spaces between the number and the unit are allowed.
func ParseMargin(s string) (Margin, error) {
	if len(s) > maxMarginLength {
		return Margin{}, fmt.Errorf("allowed degradation %.*q...: longer than %d characters", maxMarginLength, s, maxMarginLength)
	}
	text := strings.TrimSpace(s)
	var unit Unit
	switch {
	case strings.HasSuffix(text, string(PercentagePoints)):
		unit = PercentagePoints
	case strings.HasSuffix(text, string(Percent)):
		unit = Percent
	default:
		return Margin{}, fmt.Errorf("allowed degradation %q: want a number with the unit pp (percentage points, e.g. +0.5pp) or %% (percent, e.g. +10%%)", s)
	}
	number := strings.TrimSpace(strings.TrimSuffix(text, string(unit)))
	number = strings.TrimPrefix(number, "+")
	v, err := strconv.ParseFloat(number, 64)
	if err != nil || !isPlainNumber(number) || math.IsInf(v, 0) {
		return Margin{}, fmt.Errorf("allowed degradation %q: %q is not a non-negative decimal number", s, number)
	}
	return Margin{Value: v, Unit: unit}, nil
}

// isPlainNumber accepts unsigned decimal notation with an optional
// exponent, and rejects what strconv also takes: signs, hexadecimal floats,
// underscores, "NaN" and "Inf".
func isPlainNumber(s string) bool {
	mantissa, exponent, hasExp := strings.Cut(strings.ToLower(s), "e")
	if hasExp {
		exponent = strings.TrimPrefix(strings.TrimPrefix(exponent, "-"), "+")
		if exponent == "" || strings.Trim(exponent, "0123456789") != "" {
			return false
		}
	}
	whole, frac, _ := strings.Cut(mantissa, ".")
	return whole+frac != "" && strings.Trim(whole+frac, "0123456789") == ""
}

// String writes the margin back in the form ParseMargin reads.
func (m Margin) String() string {
	return "+" + strconv.FormatFloat(m.Value, 'g', -1, 64) + string(m.Unit)
}
