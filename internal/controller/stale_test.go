package controller

import (
	"context"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// A cached canary one step behind its routes (the status moved to 40 and
// the routes followed, but the cache still shows 30) must not move the
// routes back to 30: the gitops seed once saw weights 35, 40, 35, 40.
func TestACanaryCachedBehindItsRoutesDoesNotMoveThemBack(t *testing.T) {
	f := newRelease(atWeight(30))
	stale := f.canary.DeepCopy()
	e := newEnv(t, withObjects(f.objects()...), withInterceptor(interceptor.Funcs{
		Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if c, ok := obj.(*flaggerv1.Canary); ok {
				// The cache: the canary as it was before its last step.
				if err := cl.Get(ctx, key, c, opts...); err != nil {
					return err
				}
				rv := c.ResourceVersion
				stale.DeepCopyInto(c)
				c.ResourceVersion = rv + "-cached"
				return nil
			}
			return cl.Get(ctx, key, obj, opts...)
		},
	}))
	e.routed(60, 40)
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if _, w := e.routes["fake"].get(); w.Primary != 60 || w.Canary != 40 {
		t.Errorf("routes %d/%d after a reconcile on a stale canary, want 60/40 left alone; journal:\n%s", w.Primary, w.Canary, strings.Join(e.j.all(), "\n"))
	}
}
