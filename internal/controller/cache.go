package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
)

// LeaderElectionID is the lease of an operator that reconciles every
// canary; a shard's lease is ShardLeaseName of its selector.
const LeaderElectionID = "serin.flagger.app"

// Shard is the set of canaries one operator Deployment reconciles: those
// whose labels match Selector (Flux's --watch-label-selector). The zero
// Shard is every canary.
type Shard struct {
	Selector labels.Selector
}

// ParseShard reads a label selector in kubectl's syntax, e.g.
// "sharding.fluxcd.io/key=shard1" or "!sharding.fluxcd.io/key"; empty
// selects every canary.
func ParseShard(selector string) (Shard, error) {
	if selector == "" {
		return Shard{}, nil
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return Shard{}, fmt.Errorf("%q is not a label selector: %w", selector, err)
	}
	if sel.Empty() {
		return Shard{}, nil
	}
	return Shard{Selector: sel}, nil
}

// String is the selector in canonical form ("" for every canary).
func (s Shard) String() string {
	if s.Selector == nil {
		return ""
	}
	return s.Selector.String()
}

// LeaseName is the shard's leader-election lease: replicas of one shard
// (the same selector, however written) share it, and shards with other
// selectors never contend for it.
func (s Shard) LeaseName() string {
	if s.Selector == nil {
		return LeaderElectionID
	}
	sum := sha256.Sum256([]byte(s.Selector.String()))
	return "serin-shard-" + hex.EncodeToString(sum[:])[:10] + ".flagger.app"
}

// CacheOptions are the informer cache's options: only this shard's
// canaries, in namespace when it is set, and cached objects without the
// bookkeeping the operator never reads.
func CacheOptions(namespace string, shard Shard) cache.Options {
	opts := cache.Options{
		DefaultTransform: slimObject,
		ByObject: map[client.Object]cache.ByObject{
			// Deployments keep who last wrote spec.replicas, which the
			// replica-conflict rule reads (workload.ReplicasWriter).
			&appsv1.Deployment{}: {Transform: keepReplicasWriters},
			// Canaries keep their managedFields: the requester of a lever
			// is the field manager that set its annotation
			// (levers.Requests).
			&flaggerv1.Canary{}: {Transform: keepManagedFields, Label: shard.Selector},
		},
	}
	if namespace != "" {
		opts.DefaultNamespaces = map[string]cache.Config{namespace: {}}
	}
	return opts
}

// slimObject is the cache transform of every kind but Deployments: it
// drops managedFields (several kilobytes on an object applied by kubectl or
// a GitOps tool, and read by nobody here). Of the ConfigMaps and Secrets,
// watched metadata-only, configdata.Reader reads only which versions exist,
// so their labels and annotations go too: a Secret applied with kubectl
// carries its whole data in the last-applied-configuration annotation.
func slimObject(obj any) (any, error) {
	switch o := obj.(type) {
	case *metav1.PartialObjectMetadata:
		o.ObjectMeta = metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, UID: o.UID,
			ResourceVersion: o.ResourceVersion, DeletionTimestamp: o.DeletionTimestamp}
	case metav1.Object:
		o.SetManagedFields(nil)
	}
	return obj, nil
}

// keepManagedFields is the cache transform of Canaries: they stay whole.
func keepManagedFields(obj any) (any, error) { return obj, nil }

// keepReplicasWriters is the cache transform of Deployments.
func keepReplicasWriters(obj any) (any, error) {
	if d, ok := obj.(*appsv1.Deployment); ok {
		workload.KeepReplicasWriters(d, FieldManager)
	}
	return obj, nil
}
