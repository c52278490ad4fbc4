// Command kube-controller-manager runs the upstream controllers the tests rely on: namespace
// deletion, service-account tokens, garbage collection, deployments and replica sets.
package main

import (
	"os"
	_ "time/tzdata" // CronJob time zones need the zone database inside the binary.

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
