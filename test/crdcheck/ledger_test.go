package crdcheck_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/serin-dev/serin/test/cluster"
	"github.com/serin-dev/serin/test/crdcheck"
)

// ledgerFile is the field ledger, relative to the repository root.
const ledgerFile = "docs/api-coverage.md"

// ledgerRow is one row of the ledger: the kind whose table it is in (the
// "## Kind" heading above it), the fields it covers, what Serin does with
// them, and the tests that prove it.
type ledgerRow struct {
	line           int
	kind           string
	fields         []string
	status, proofs string
}

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	testName   = regexp.MustCompile(`\bTest[A-Z]\w*`)
	issueRef   = regexp.MustCompile(`#[0-9]+`)
	statusWord = regexp.MustCompile(`^(honoured|refused|gap)\b`)
)

// readLedger reads the table rows of the ledger: | `field` … | status | proofs |.
func readLedger(t *testing.T, root string) []ledgerRow {
	t.Helper()
	f, err := os.Open(filepath.Join(root, ledgerFile))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var rows []ledgerRow
	kind := ""
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		if h, ok := strings.CutPrefix(s.Text(), "## "); ok {
			kind = strings.Fields(h + " ?")[0]
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(s.Text()), "|"), "|")
		if len(cells) != 3 || !strings.HasPrefix(strings.TrimSpace(cells[0]), "`") {
			continue
		}
		r := ledgerRow{line: n, kind: kind, status: strings.TrimSpace(cells[1]), proofs: cells[2]}
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			r.fields = append(r.fields, kind+" "+m[1])
		}
		rows = append(rows, r)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// schemaFields lists the fields of every version of a CRD's spec, as
// "Kind spec.a.b", with [] after a list; spec.canaryAnalysis (flagger.app/v1alpha3's
// name of spec.analysis) is listed as spec.analysis.
func schemaFields(c *crdcheck.CRD, into map[string]string) {
	for _, v := range c.Def.Spec.Versions {
		spec := v.Schema.OpenAPIV3Schema.Properties["spec"]
		walkSchema(&spec, "spec", c.Def.Spec.Names.Kind, into)
	}
}

func walkSchema(s *apiextensionsv1.JSONSchemaProps, path, kind string, into map[string]string) {
	for name, p := range s.Properties {
		field := strings.Replace(path+"."+name, "spec.canaryAnalysis", "spec.analysis", 1)
		into[kind+" "+field] = kind
		switch {
		case p.Type == "array" && p.Items != nil && p.Items.Schema != nil:
			walkSchema(p.Items.Schema, field+"[]", kind, into)
		case p.Type == "object":
			walkSchema(&p, field, kind, into)
		}
	}
}

// testNames are the names of every test function of the repository.
func testNames(t *testing.T, root string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == ".git" || d.Name() == "bin") {
			if err == nil {
				err = filepath.SkipDir
			}
			return err
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		for _, m := range decl.FindAllSubmatch(data, -1) {
			names[string(m[1])] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// Every field of the Canary, MetricTemplate and AlertProvider CRDs is in
// docs/api-coverage.md: honoured, with the tests that prove it, refused
// (for the providers named) with the tests that assert the message, or a
// known gap with its issue. A field added to the API without a row fails
// here, and so does a row whose field or test no longer exists.
func TestEveryAPIFieldIsInTheLedger(t *testing.T) {
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, file := range []string{"flagger.app_canaries.yaml", "flagger.app_metrictemplates.yaml", "flagger.app_alertproviders.yaml"} {
		c, err := crdcheck.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		schemaFields(c, fields)
	}
	tests := testNames(t, root)
	listed := map[string]int{}
	for _, r := range readLedger(t, root) {
		checkRow(t, r, fields, tests)
		for _, f := range r.fields {
			if line, dup := listed[f]; dup {
				t.Errorf("%s:%d: %s is already on line %d: one row per field", ledgerFile, r.line, f, line)
			}
			listed[f] = r.line
		}
	}
	var missing []string
	for f := range fields {
		if _, ok := listed[f]; !ok {
			missing = append(missing, f)
		}
	}
	sort.Strings(missing)
	for _, f := range missing {
		kind, path, _ := strings.Cut(f, " ")
		t.Errorf("%s field %s is not in %s: add a row to its \"## %s\" table:\n"+
			"  | `%s` | honoured | `TestThatProvesIt` |\n"+
			"or, when some providers cannot honour it (refused at admission, see internal/router.FieldRules):\n"+
			"  | `%s` | honoured by <providers>; refused by <providers> | `TestThatProvesIt`, `TestThatAssertsTheRefusal` |",
			kind, path, ledgerFile, kind, path, path)
	}
}

func checkRow(t *testing.T, r ledgerRow, fields map[string]string, tests map[string]bool) {
	t.Helper()
	for _, f := range r.fields {
		if _, ok := fields[f]; !ok {
			t.Errorf("%s:%d: %s is no field of the generated CRDs (renamed, removed, or under the wrong \"## Kind\" heading?): update or delete the row", ledgerFile, r.line, f)
		}
	}
	status := statusWord.FindString(r.status)
	switch status {
	case "honoured", "refused":
		names := testName.FindAllString(r.proofs, -1)
		if len(names) == 0 {
			t.Errorf("%s:%d: a %s field needs the test that proves it in the last column", ledgerFile, r.line, status)
		}
		for _, n := range names {
			if !tests[n] {
				t.Errorf("%s:%d: test %s does not exist", ledgerFile, r.line, n)
			}
		}
	case "gap":
		if !issueRef.MatchString(r.proofs) {
			t.Errorf("%s:%d: a gap names the issue that closes it (#N) in the last column", ledgerFile, r.line)
		}
	default:
		t.Errorf("%s:%d: status %q must start with honoured, refused or gap", ledgerFile, r.line, r.status)
	}
}
