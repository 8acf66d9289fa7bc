package loadtester

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HeyLimits bound what a caller may ask hey to do. hey is the one program
// the load tester runs by default, so its options are checked one by one:
// a caller must not make it read local files (-D, e.g. the service-account
// token), send traffic through a proxy of their choosing (-x), or exhaust
// the load tester with workers, requests or time.
type HeyLimits struct {
	// MaxWorkers caps -c (hey's default is 50).
	MaxWorkers int
	// MaxRequests caps -n (hey's default is 200).
	MaxRequests int
	// MaxRate caps -q, in requests per second per worker.
	MaxRate float64
	// MaxDuration caps -z.
	MaxDuration time.Duration
}

// DefaultHeyLimits are generous for a load test and small for a host.
func DefaultHeyLimits() HeyLimits {
	return HeyLimits{MaxWorkers: 100, MaxRequests: 1_000_000, MaxRate: 1000, MaxDuration: time.Hour}
}

// heyMethods are the HTTP methods -m accepts.
var heyMethods = []string{"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"}

// heyFlag is one of hey's options and its check.
type heyFlag struct {
	bool  bool                                  // takes no value
	check func(l HeyLimits, value string) error // nil accepts any value
}

// heyFlags are the options a caller may use, by name; anything else is
// refused. hey parses its command line with Go's flag package, and so does
// CheckHey, so both see the same options.
var heyFlags = map[string]heyFlag{
	"n":    {check: func(l HeyLimits, v string) error { return intIn(v, 1, l.MaxRequests, "--hey-max-requests") }},
	"c":    {check: func(l HeyLimits, v string) error { return intIn(v, 1, l.MaxWorkers, "--hey-max-workers") }},
	"q":    {check: checkRate},
	"z":    {check: checkDuration},
	"t":    {check: func(_ HeyLimits, v string) error { return intIn(v, 0, 300, "") }},
	"cpus": {check: func(_ HeyLimits, v string) error { return intIn(v, 1, 64, "") }},
	"o": {check: func(_ HeyLimits, v string) error {
		if v != "csv" {
			return fmt.Errorf("must be csv")
		}
		return nil
	}},
	"m": {check: func(_ HeyLimits, v string) error {
		if !slices.Contains(heyMethods, v) {
			return fmt.Errorf("must be one of %s", strings.Join(heyMethods, ", "))
		}
		return nil
	}},
	"H": {}, "A": {}, "d": {}, "T": {}, "a": {}, "host": {},
	"h2": {bool: true}, "disable-compression": {bool: true}, "disable-keepalive": {bool: true}, "disable-redirects": {bool: true},
}

// heyRefused explains the options that are never allowed.
var heyRefused = map[string]string{
	"D": "it sends a local file of the load tester (such as its service-account token) to the target; use -d with the body instead",
	"x": "it sends the load through a proxy of the caller's choosing",
}

// CheckHey checks hey's arguments (without the program name): only the
// options of heyFlags, within the limits, then exactly one http or https
// URL.
func (l HeyLimits) CheckHey(args []string) error {
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		f, err := l.lookup(name)
		if err != nil {
			return err
		}
		switch {
		case f.bool:
			if hasValue {
				if _, err := strconv.ParseBool(value); err != nil {
					return heyError(name, value, "must be true or false")
				}
			}
			continue
		case !hasValue:
			if i+1 == len(args) {
				return &CommandError{Construct: "hey option -" + name, Offset: -1, Reason: "it needs a value"}
			}
			i++
			value = args[i]
		}
		if f.check != nil {
			if err := f.check(l, value); err != nil {
				return heyError(name, value, err.Error())
			}
		}
	}
	return checkHeyURL(args[i:])
}

func (l HeyLimits) lookup(name string) (heyFlag, error) {
	if why, refused := heyRefused[name]; refused {
		return heyFlag{}, &CommandError{Construct: "hey option -" + name, Offset: -1, Reason: why}
	}
	f, ok := heyFlags[name]
	if !ok {
		names := make([]string, 0, len(heyFlags))
		for n := range heyFlags {
			names = append(names, "-"+n)
		}
		slices.Sort(names)
		return heyFlag{}, &CommandError{Construct: fmt.Sprintf("hey option %q", "-"+name), Offset: -1,
			Reason: "it is not one the load tester allows: " + strings.Join(names, " ")}
	}
	return f, nil
}

// checkHeyURL wants exactly one absolute http or https URL: hey ignores
// anything after it, which would hide options from the caller's view.
func checkHeyURL(rest []string) error {
	switch {
	case len(rest) == 0:
		return &CommandError{Construct: "hey without a URL", Offset: -1, Reason: "put the target URL last, e.g. hey -z 1m http://podinfo-canary.test:9898/"}
	case len(rest) > 1:
		return &CommandError{Construct: fmt.Sprintf("hey argument %q after the URL", rest[1]), Offset: -1,
			Reason: "hey ignores everything after the URL; put options before it"}
	}
	u, err := url.Parse(rest[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &CommandError{Construct: fmt.Sprintf("hey URL %q", rest[0]), Offset: -1,
			Reason: "it must be an absolute http or https URL"}
	}
	return nil
}

func heyError(name, value, why string) error {
	return &CommandError{Construct: fmt.Sprintf("hey option -%s %s", name, strconv.Quote(value)), Offset: -1, Reason: why}
}

// intIn parses an integer as Go's flag package does and checks its range;
// flag names the operator's flag that sets the maximum, if any.
func intIn(v string, lo, hi int, flag string) error {
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		return fmt.Errorf("must be a whole number")
	}
	if n < int64(lo) || n > int64(hi) {
		if flag != "" {
			return fmt.Errorf("must be from %d to %d (%s)", lo, hi, flag)
		}
		return fmt.Errorf("must be from %d to %d", lo, hi)
	}
	return nil
}

func checkRate(l HeyLimits, v string) error {
	q, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(q) || math.IsInf(q, 0) {
		return fmt.Errorf("must be a number of requests per second")
	}
	if q < 0 || q > l.MaxRate {
		return fmt.Errorf("must be from 0 to %g per worker (--hey-max-rate)", l.MaxRate)
	}
	return nil
}

func checkDuration(l HeyLimits, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("must be a duration such as 1m")
	}
	if d <= 0 || d > l.MaxDuration {
		return fmt.Errorf("must be more than 0 and at most %s (--hey-max-duration)", l.MaxDuration)
	}
	return nil
}

// Validate reports limits that cannot work, naming the flag to fix.
func (l HeyLimits) Validate() error {
	switch {
	case l.MaxWorkers < 1:
		return fmt.Errorf("--hey-max-workers must be at least 1")
	case l.MaxRequests < 1:
		return fmt.Errorf("--hey-max-requests must be at least 1")
	case l.MaxRate <= 0 || math.IsInf(l.MaxRate, 0) || math.IsNaN(l.MaxRate):
		return fmt.Errorf("--hey-max-rate must be a positive number")
	case l.MaxDuration <= 0:
		return fmt.Errorf("--hey-max-duration must be positive")
	}
	return nil
}
