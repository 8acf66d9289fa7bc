// Command etcd runs the etcd server for the local test cluster, built from
// the etcd server module pinned in go.mod.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
