package levers

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

func TestRequestsReadTheAnnotationsAndWhoSetThem(t *testing.T) {
	at := func(min int) *metav1.Time {
		tm := metav1.NewTime(time.Date(2026, 11, 25, 18, min, 0, 0, time.UTC))
		return &tm
	}
	owns := func(keys ...string) *metav1.FieldsV1 {
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = `"f:` + k + `":{}`
		}
		return &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:annotations":{` + strings.Join(parts, ",") + `}}}`)}
	}
	cases := map[string]struct {
		annotations map[string]string           // on the canary
		managed     []metav1.ManagedFieldsEntry // its managedFields
		want        map[Lever]Request           // the requests found
	}{
		"no annotation is no request": {
			annotations: map[string]string{"other": "x"},
			want:        map[Lever]Request{},
		},
		"a promote set by the plugin names the plugin's manager": {
			annotations: map[string]string{flaggerv1.PromoteAnnotation: "r1"},
			managed: []metav1.ManagedFieldsEntry{
				{Manager: "kubectl-serin:jane", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(1), FieldsV1: owns(flaggerv1.PromoteAnnotation)},
			},
			want: map[Lever]Request{Promote: {ID: "r1", RequestedBy: "kubectl-serin:jane"}},
		},
		"each lever names its own manager, the latest when shared": {
			annotations: map[string]string{flaggerv1.AbortAnnotation: "a", flaggerv1.PauseAnnotation: ""},
			managed: []metav1.ManagedFieldsEntry{
				{Manager: "kustomize-controller", Operation: metav1.ManagedFieldsOperationApply, Time: at(1), FieldsV1: owns(flaggerv1.PauseAnnotation, flaggerv1.AbortAnnotation)},
				{Manager: "kubectl-annotate", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(2), FieldsV1: owns(flaggerv1.AbortAnnotation)},
			},
			want: map[Lever]Request{Abort: {ID: "a", RequestedBy: "kubectl-annotate"}, Pause: {ID: "", RequestedBy: "kustomize-controller"}},
		},
		"an id longer than 63 characters is invalid and named": {
			annotations: map[string]string{flaggerv1.RetryAnnotation: strings.Repeat("x", 70)},
			want: map[Lever]Request{Retry: {ID: strings.Repeat("x", 63),
				Invalid: "annotation serin.dev/retry: the request id must be at most 63 characters, got 70"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := &flaggerv1.Canary{ObjectMeta: metav1.ObjectMeta{Annotations: tc.annotations, ManagedFields: tc.managed}}
			got := Requests(c)
			if len(got) != len(tc.want) {
				t.Fatalf("Requests = %+v, want %+v", got, tc.want)
			}
			for l, w := range tc.want {
				if got[l] != w {
					t.Errorf("%s: got %+v, want %+v", l, got[l], w)
				}
			}
		})
	}
}

func TestPatchesSetAndRemoveOneAnnotation(t *testing.T) {
	if got, want := string(Patch(Abort, "r1")), `{"metadata":{"annotations":{"serin.dev/abort":"r1"}}}`; got != want {
		t.Errorf("Patch = %s, want %s", got, want)
	}
	if got, want := string(ResumePatch()), `{"metadata":{"annotations":{"serin.dev/pause":null}}}`; got != want {
		t.Errorf("ResumePatch = %s, want %s", got, want)
	}
}

func TestFieldManagerNamesFitTheAPIServersLimits(t *testing.T) {
	cases := map[string]struct {
		client, user string
		want         string // "" to check only the limits
	}{
		"no user":            {client: "kubectl-serin", want: "kubectl-serin"},
		"a user":             {client: "serin-dashboard", user: "system:serviceaccount:team-a:dev", want: "serin-dashboard:system:serviceaccount:team-a:dev"},
		"control characters": {client: "kubectl-serin", user: "eve\n\x00", want: "kubectl-serin:eve??"},
		"a long name":        {client: "kubectl-serin", user: strings.Repeat("é", 100)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := FieldManager(tc.client, tc.user)
			if tc.want != "" && got != tc.want {
				t.Errorf("FieldManager = %q, want %q", got, tc.want)
			}
			if len(got) > 128 || !utf8.ValidString(got) {
				t.Errorf("FieldManager = %q (%d bytes): want at most 128 bytes of valid UTF-8", got, len(got))
			}
		})
	}
}

func TestRequestIDsSortByTimeAndDiffer(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 55, 52, 0, time.UTC)
	a, b := NewID(now), NewID(now)
	if a == b || !strings.HasPrefix(a, "20261125T185552Z-") || len(a) > flaggerv1.MaxLeverIDLength {
		t.Errorf("NewID gave %q and %q", a, b)
	}
	if later := NewID(now.Add(time.Second)); later < a {
		t.Errorf("%q sorts before %q", later, a)
	}
}

func TestParseNamesTheLevers(t *testing.T) {
	for _, l := range All {
		if got, err := Parse(string(l)); err != nil || got != l {
			t.Errorf("Parse(%q) = %q, %v", l, got, err)
		}
	}
	if _, err := Parse("rollback"); err == nil || !strings.Contains(err.Error(), "promote, abort, retry or pause") {
		t.Errorf("Parse(rollback) error %v, want the allowed names", err)
	}
}
