#!/usr/bin/env bash
# Builds the control-plane binaries from upstream Go modules and caches them outside the repository.
#
#   tests/cluster/build.sh            -> prints the folder holding kube-apiserver, kube-controller-manager,
#                                        kubectl, etcd, kwok and kubelet-streams (builds them first if the
#                                        cache lacks them)
#   K8S_VERSION=v1.34.4 tests/cluster/build.sh   -> the same for another release (go.mod is generated
#                                        for it in the cache folder; the committed one is left alone)
#
# The cache key hashes everything that decides the bytes of the binaries: go.mod/go.sum, the main
# packages, this script, the Go version and the kwok version. A warm run costs a hash and a stat.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
KWOK_VERSION=v0.8.0
cache_root=${KLIENT_CACHE:-$HOME/.cache/klient}/cluster
committed_version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p; s/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$here/go.mod" | head -1)
version=${K8S_VERSION:-$committed_version}
log() { echo "cluster-build: $*" >&2; }

command -v go >/dev/null || { log "Go is required (https://go.dev/dl); none on PATH"; exit 1; }

# Where the module lives: in the repo for the committed release, in the cache for any other.
if [ "$version" = "$committed_version" ]; then
  module_dir=$here
else
  module_dir=$cache_root/modules/$version
  if [ ! -f "$module_dir/go.sum" ]; then
    mkdir -p "$module_dir"
    rm -rf "$module_dir/cmd" && cp -r "$here/cmd" "$module_dir/cmd"
    "$here/gen-gomod.sh" "$version" "$module_dir" >&2
  fi
fi

key=$( { cat "$module_dir/go.mod" "$module_dir/go.sum" "$here/build.sh"; find "$here/cmd" "$here/kubelet" -type f | sort | xargs cat;
         go version; echo "$KWOK_VERSION"; } | sha256sum | cut -c1-16)
out=$cache_root/bin/$version-$key
if [ -x "$out/kube-apiserver" ] && [ -x "$out/kwok" ] && [ -x "$out/kubelet-streams" ] && [ -x "$out/etcd" ] && [ -x "$out/kubectl" ] && [ -x "$out/kube-controller-manager" ]; then
  echo "$out"; exit 0
fi

[[ $version =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || { log "bad version $version"; exit 2; }
minor=${BASH_REMATCH[1]}
tmp=$out.partial
rm -rf "$tmp" && mkdir -p "$tmp"
start=$(date +%s)
# Without these the binaries report v0.0.0-master, and clients that gate features on the server's
# version (kubectl among them) would misbehave.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
log "building Kubernetes $version (kube-apiserver, kube-controller-manager, kubectl, etcd) into $out"
log "a cold build takes tens of minutes on 2 cores; later runs reuse the cache"
(cd "$module_dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" ./cmd/...)
log "building kwok $KWOK_VERSION on its own module graph"
CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
log "building kubelet-streams (exec, attach and port-forward for kwok's pods; see kubelet/main.go)"
(cd "$here/kubelet" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/kubelet-streams" .)
rm -rf "$out" && mv "$tmp" "$out"
log "built in $(( $(date +%s) - start ))s"
echo "$out"
