#!/usr/bin/env bash
# The harness demo: what the local control plane offers, shown with the upstream kubectl built with it.
# `./dev demo` runs it; `./dev tour` shows the same through klient itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
eval "$("$here/cluster.sh" env)"
ns=klient-demo-$$
step() { printf '\n--- %s\n' "$*"; }
trap 'kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT

step "server version"; kubectl version
step "nodes"; kubectl get nodes -o wide
step "a namespace and a pod on the kwok node"
kubectl create namespace "$ns"
kubectl apply -n "$ns" -f - <<YAML
apiVersion: v1
kind: Pod
metadata: {name: demo}
spec:
  nodeName: kwok-node-0
  containers: [{name: main, image: busybox}]
YAML
kubectl wait -n "$ns" --for=jsonpath='{.status.phase}'=Running pod/demo --timeout=60s
kubectl get -n "$ns" pods -o wide
step "exec with stdin (the command runs on this machine)"; echo "hello from stdin" | kubectl exec -i -n "$ns" demo -- cat
step "exec exit code"; kubectl exec -n "$ns" demo -- sh -c 'exit 7' || echo "exit code $?"
step "logs"; kubectl logs -n "$ns" demo
step "delete the namespace"; kubectl delete namespace "$ns" --timeout=90s
trap - EXIT
