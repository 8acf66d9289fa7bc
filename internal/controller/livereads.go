package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LiveReads is c with its reads (Get and List) sent to api, the API
// server, instead of the cache; its writes are c's.
func LiveReads(c client.Client, api client.Reader) client.Client {
	return liveReads{Client: c, api: api}
}

type liveReads struct {
	client.Client
	api client.Reader
}

func (l liveReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return l.api.Get(ctx, key, obj, opts...)
}

func (l liveReads) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return l.api.List(ctx, list, opts...)
}
