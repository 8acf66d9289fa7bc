package judgesim

import "testing"

// BenchmarkRelease measures one release at 100 requests per second under
// both policies, the study's most expensive cell.
func BenchmarkRelease(b *testing.B) {
	s := SeedSettings()
	s.Releases = 1
	sc := Scenario{Rate: 100, Effect: Effect{Name: "none", Slowdown: 1}}
	for i := 0; b.Loop(); i++ {
		st := s.stream(sc, 0, i)
		s.thresholdRelease(st)
		if _, err := s.judgeRelease(st); err != nil {
			b.Fatal(err)
		}
	}
}
