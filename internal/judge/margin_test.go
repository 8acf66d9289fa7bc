package judge

import (
	"math"
	"strings"
	"testing"
)

func TestParseMargin(t *testing.T) {
	tests := map[string]struct {
		in   string // the text a user wrote
		want Margin // the margin it means
		err  string // part of the error, when it is refused
	}{
		"percentage points with a plus sign are read":  {in: "+0.5pp", want: Margin{0.5, PercentagePoints}},
		"a plain number of percentage points is read":  {in: "0.5pp", want: Margin{0.5, PercentagePoints}},
		"percent with a space before the unit is read": {in: " +10 %", want: Margin{10, Percent}},
		"an exponent is read":                          {in: "1e-1pp", want: Margin{0.1, PercentagePoints}},
		"zero is allowed":                              {in: "0%", want: Margin{0, Percent}},
		"a number without a unit is refused":           {in: "0.5", err: "want a number with the unit pp"},
		"a negative margin is refused":                 {in: "-1pp", err: "not a non-negative decimal number"},
		"NaN is refused":                               {in: "NaNpp", err: "not a non-negative decimal number"},
		"infinity is refused":                          {in: "+Inf%", err: "not a non-negative decimal number"},
		"a hexadecimal float is refused":               {in: "0x1p-2pp", err: "not a non-negative decimal number"},
		"underscores are refused":                      {in: "1_0%", err: "not a non-negative decimal number"},
		"a unit alone is refused":                      {in: "+pp", err: "not a non-negative decimal number"},
		"two signs are refused":                        {in: "++1pp", err: "not a non-negative decimal number"},
		"a number too large for a float is refused":    {in: "1e999%", err: "not a non-negative decimal number"},
		"text longer than the limit is refused":        {in: strings.Repeat("1", 40) + "%", err: "longer than 32 characters"},
		"an empty string is refused":                   {in: "", err: "want a number with the unit pp"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseMargin(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseMargin(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseMargin(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzParseMargin(f *testing.F) {
	for _, seed := range []string{"+0.5pp", "10%", "1e3 %", "-1pp", "NaN%", "0x1p1pp", ".5pp", "5.pp"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseMargin(in)
		if err != nil {
			return
		}
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) || m.Value < 0 || (m.Unit != Percent && m.Unit != PercentagePoints) {
			t.Fatalf("ParseMargin(%q) accepted %v", in, m)
		}
		again, err := ParseMargin(m.String())
		if err != nil || again != m {
			t.Fatalf("ParseMargin(%q) = %v, which writes as %q and reads back as %v, %v", in, m, m.String(), again, err)
		}
	})
}
