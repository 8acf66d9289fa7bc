package judge

import (
	"math"
	"strings"
	"testing"
)

// seedConfig is the judge as the simulation study configures it.
func seedConfig() Config {
	return Config{
		Confidence: 0.99,
		Comparisons: []Comparison{
			{Name: "request-success-rate", Kind: ErrorRate, AllowedDegradation: Margin{0.5, PercentagePoints}},
			{Name: "request-duration", Kind: Latency, AllowedDegradation: Margin{10, Percent}},
		},
		Inconclusive: InconclusivePolicy{MaxSteps: 30, Then: ThenPromote},
	}
}

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		change func(*Config) // what is wrong with the seed configuration
		err    string        // part of the error; none for a valid one
	}{
		"the study's configuration is valid":        {change: func(*Config) {}},
		"a confidence of 1 is refused":              {change: func(c *Config) { c.Confidence = 1 }, err: "confidence 1: must be between 0.5 and 0.9999"},
		"a NaN confidence is refused":               {change: func(c *Config) { c.Confidence = math.NaN() }, err: "confidence NaN"},
		"no comparison is refused":                  {change: func(c *Config) { c.Comparisons = nil }, err: "comparisons: 0 given, must be 1 to 16"},
		"a name used twice is refused":              {change: func(c *Config) { c.Comparisons[1].Name = c.Comparisons[0].Name }, err: `comparisons[1].name "request-success-rate": used twice`},
		"an empty name is refused":                  {change: func(c *Config) { c.Comparisons[0].Name = "" }, err: `comparisons[0]: name "": must be 1 to 63 characters`},
		"an unknown kind is refused":                {change: func(c *Config) { c.Comparisons[0].Kind = "throughput" }, err: `kind "throughput": must be "errorRate" or "latency"`},
		"an error margin in percent is refused":     {change: func(c *Config) { c.Comparisons[0].AllowedDegradation.Unit = Percent }, err: "allowedDegradation +0.5%: an error rate's must be 0pp to 50pp"},
		"a latency margin in points is refused":     {change: func(c *Config) { c.Comparisons[1].AllowedDegradation.Unit = PercentagePoints }, err: "allowedDegradation +10pp: a latency's must be 0% to 10000%"},
		"a negative margin is refused":              {change: func(c *Config) { c.Comparisons[0].AllowedDegradation.Value = -1 }, err: "an error rate's must be 0pp to 50pp"},
		"no inconclusive steps are refused":         {change: func(c *Config) { c.Inconclusive.MaxSteps = 0 }, err: "inconclusive.maxSteps 0: must be 1 to 10000"},
		"an unknown inconclusive action is refused": {change: func(c *Config) { c.Inconclusive.Then = "wait" }, err: `inconclusive.then "wait": must be "promote" or "fail"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := seedConfig()
			tc.change(&c)
			err := c.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.err)
			}
		})
	}
}
