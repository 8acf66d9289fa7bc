package configdata

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

var key = types.NamespacedName{Namespace: "test", Name: "prom-auth"}

func newSecret(token string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, UID: "uid-1"},
		Data: map[string][]byte{"token": []byte(token)}}
}

func newFake(objs ...client.Object) client.Client {
	return fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(objs...).Build()
}

func TestAnUnchangedSecretIsReadFromTheAPIOnce(t *testing.T) {
	c := newFake(newSecret("one"))
	r := &Reader{Metadata: c, API: c}
	ctx := context.Background()
	for i := range 3 {
		s, err := r.Secret(ctx, key)
		if err != nil || string(s.Data["token"]) != "one" {
			t.Fatalf("read %d: %v, %v", i, s, err)
		}
	}
	if r.APIReads() != 1 {
		t.Errorf("%d API reads for three reads of an unchanged Secret, want 1", r.APIReads())
	}
}

func TestAChangedSecretIsReadAgain(t *testing.T) {
	c := newFake(newSecret("one"))
	r := &Reader{Metadata: c, API: c}
	ctx := context.Background()
	if _, err := r.Secret(ctx, key); err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{}
	if err := c.Get(ctx, key, s); err != nil {
		t.Fatal(err)
	}
	s.Data["token"] = []byte("two")
	if err := c.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := r.Secret(ctx, key)
	if err != nil || string(got.Data["token"]) != "two" {
		t.Fatalf("after an update: %v, %v; want token two", got, err)
	}
	if r.APIReads() != 2 {
		t.Errorf("%d API reads, want 2", r.APIReads())
	}
}

func TestADeletedSecretIsNotFound(t *testing.T) {
	c := newFake(newSecret("one"))
	r := &Reader{Metadata: c, API: c}
	ctx := context.Background()
	if _, err := r.Secret(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, newSecret("")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Secret(ctx, key); !apierrors.IsNotFound(err) {
		t.Fatalf("error %v, want NotFound", err)
	}
	if len(r.memo) != 0 {
		t.Errorf("a deleted Secret is still remembered: %v", r.memo)
	}
}

func TestCallersCannotChangeTheRememberedCopy(t *testing.T) {
	c := newFake(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "test", Name: "cfg"}, Data: map[string]string{"a": "1"}})
	r := &Reader{Metadata: c, API: c}
	ctx := context.Background()
	k := types.NamespacedName{Namespace: "test", Name: "cfg"}
	first, err := r.ConfigMap(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	first.Data["a"] = "changed"
	second, err := r.ConfigMap(ctx, k)
	if err != nil || second.Data["a"] != "1" {
		t.Fatalf("second read %v, %v; want the stored data", second, err)
	}
	if r.APIReads() != 1 {
		t.Errorf("%d API reads, want 1", r.APIReads())
	}
}

func TestASecretAndAConfigMapOfTheSameNameAreKeptApart(t *testing.T) {
	c := newFake(newSecret("one"), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Data: map[string]string{"k": "v"}})
	r := &Reader{Metadata: c, API: c}
	ctx := context.Background()
	if _, err := r.Secret(ctx, key); err != nil {
		t.Fatal(err)
	}
	cm, err := r.ConfigMap(ctx, key)
	if err != nil || cm.Data["k"] != "v" {
		t.Fatalf("ConfigMap read %v, %v", cm, err)
	}
}
