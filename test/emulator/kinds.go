package emulator

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// watchKinds starts an informer for every routing kind that is installed
// and not watched yet. A kind without its CRD is skipped and looked for
// again later, so the emulator runs with any subset of the mesh APIs.
func (e *Emulator) watchKinds(ctx context.Context) {
	for _, k := range e.kinds {
		if k.watched.Load() {
			continue
		}
		if _, err := e.mapper.RESTMapping(k.gvk.GroupKind(), k.gvk.Version); err != nil {
			if !meta.IsNoMatchError(err) {
				e.cfg.Log.Warn("Cannot look up routing kind", "kind", k.gvk.String(), "error", err.Error())
			}
			continue
		}
		if err := e.watch(ctx, k); err != nil {
			e.cfg.Log.Warn("Cannot watch routing kind", "kind", k.gvk.String(), "error", err.Error())
			continue
		}
		k.watched.Store(true)
		e.cfg.Log.Info("Watching routing kind", "kind", k.gvk.String())
	}
}

// watch starts the kind's informer and waits for it to sync.
func (e *Emulator) watch(ctx context.Context, k *routingKind) error {
	o, err := e.scheme.New(k.gvk)
	if err != nil {
		return err
	}
	obj, ok := o.(client.Object)
	if !ok {
		return fmt.Errorf("%s is not an object", k.gvk)
	}
	_, err = e.cache.GetInformer(ctx, obj)
	return err
}
