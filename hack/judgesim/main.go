// Command judgesim runs the simulation study of docs/judge.md: releases at
// several traffic levels and true effects, judged by the seed's fixed
// thresholds and by the statistical judge on the same generated traffic.
//
//	go run ./hack/judgesim                # the study as in docs/judge.md
//	go run ./hack/judgesim -releases 200  # a quicker, rougher one
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/serin-dev/serin/internal/judge"
	"github.com/serin-dev/serin/internal/judgesim"
)

func main() {
	s := judgesim.SeedSettings()
	errorMargin, latencyMargin := "+0.5pp", "+10%"
	flag.IntVar(&s.Releases, "releases", s.Releases, "Simulated releases per scenario.")
	flag.Uint64Var(&s.Seed, "seed", s.Seed, "Seed of the random traffic.")
	flag.DurationVar(&s.Interval, "interval", s.Interval, "Analysis interval (time between looks).")
	flag.DurationVar(&s.MetricWindow, "metric-window", s.MetricWindow, "Range of the fixed thresholds' metric queries.")
	flag.Float64Var(&s.Judge.Confidence, "confidence", s.Judge.Confidence, "The judge's confidence over a whole release.")
	flag.StringVar(&errorMargin, "allowed-errors", errorMargin, "The judge's allowed error-rate increase, in pp.")
	flag.StringVar(&latencyMargin, "allowed-latency", latencyMargin, "The judge's allowed slowdown, in %.")
	flag.IntVar(&s.Judge.Inconclusive.MaxSteps, "max-inconclusive", s.Judge.Inconclusive.MaxSteps, "Inconclusive steps before the policy applies.")
	then := flag.String("then", string(s.Judge.Inconclusive.Then), "The inconclusive policy: promote or fail.")
	needed := flag.Bool("needed", false, "Print how many canary requests each comparison needs to pass a healthy canary, instead of the study.")
	flag.Parse()
	s.Judge.Inconclusive.Then = judge.Action(*then)
	if err := setMargins(&s, errorMargin, latencyMargin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *needed {
		printNeeded(s)
		return
	}
	start := time.Now()
	results, err := judgesim.Run(s, judgesim.StudyScenarios(s))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Print(judgesim.Table(results))
	fmt.Printf("\n%d releases per scenario, seed %d, %s on %d CPUs (%s/%s)\n",
		s.Releases, s.Seed, time.Since(start).Round(time.Second), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
}

func setMargins(s *judgesim.Settings, errorMargin, latencyMargin string) error {
	for i, text := range map[int]string{0: errorMargin, 1: latencyMargin} {
		m, err := judge.ParseMargin(text)
		if err != nil {
			return err
		}
		s.Judge.Comparisons[i].AllowedDegradation = m
	}
	return nil
}

// printNeeded prints, for the errors margins and weights of docs/judge.md,
// how many canary requests pass a canary as good as the primary.
func printNeeded(s judgesim.Settings) {
	fmt.Println("| healthy error rate | allowed errors | allowed latency | weight | requests to pass errors | requests to pass latency |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, base := range []float64{0.001, 0.01} {
		for _, margins := range [][2]string{{"+0.5pp", "+10%"}, {"+1pp", "+20%"}, {"+2pp", "+50%"}} {
			for _, weight := range []float64{5, 50} {
				s.ErrorRate = base
				if err := setMargins(&s, margins[0], margins[1]); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				needed, err := judgesim.RequestsToPass(s, weight)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				fmt.Printf("| %g%% | %s | %s | %g%% | %s | %s |\n", 100*base, margins[0], margins[1], weight, count(needed[0].Requests), count(needed[1].Requests))
			}
		}
	}
	fmt.Printf("\nconfidence %g over the release, expected counts, looks of 10 canary requests\n", s.Judge.Confidence)
}

func count(n float64) string {
	if n == 0 {
		return "more than 100000"
	}
	return fmt.Sprintf("%.0f", n)
}
