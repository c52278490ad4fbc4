// Command etcd is the etcd server at the version the k8s.io/kubernetes module graph selects, so the
// storage layer matches what the API server was tested against upstream.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
