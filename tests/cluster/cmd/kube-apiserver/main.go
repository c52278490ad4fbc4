// Command kube-apiserver is the upstream API server, linked from the k8s.io/kubernetes module so the
// harness can build it through the Go module proxy alone.
package main

import (
	"os"
	_ "time/tzdata" // CronJob time zones need the zone database inside the binary.

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
