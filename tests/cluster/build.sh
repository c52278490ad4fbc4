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
# go_build LABEL DIR PACKAGE OUTPUT [BUILD-FLAGS...]: builds one main package in DIR with CGO off,
# printing a line every 30 s (packages compiled of those the build cache lacks, elapsed time), since a
# cold build is silent for minutes otherwise.
go_build() {
  local label=$1 dir=$2 package=$3 output=$4; shift 4
  local todo progress status=0 began; began=$(date +%s)
  # What the build cache lacks, as go itself decides it (with the same flags, which key the cache).
  todo=$(cd "$dir" && CGO_ENABLED=0 go list "$@" -deps -f '{{if .Stale}}x{{end}}' "$package" | grep -c x) || todo=0
  progress=$(mktemp)
  log "building $label: $todo packages to compile"
  (cd "$dir" && CGO_ENABLED=0 exec go build -v "$@" -o "$output" "$package") 2>"$progress" &
  local pid=$! ticks=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    ticks=$((ticks + 1))
    if [ $((ticks % 30)) = 0 ]; then
      # -v names each package as it is compiled; error output has colons or starts with '#'.
      log "  $label: $(grep -cv '^#\|:' "$progress") of $todo packages compiled, $(( $(date +%s) - began ))s"
    fi
  done
  wait "$pid" || status=$?
  if [ "$status" != 0 ]; then
    log "building $label failed:"; cat "$progress" >&2; rm -f "$progress"; exit "$status"
  fi
  rm -f "$progress"
  log "  $label: done in $(( $(date +%s) - began ))s"
}
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
log "a cold build compiles about 3,000 Go packages: 12 minutes on 2 cores measured, 20 while other"
log "builds shared the cores; a progress line follows every 30 s. Later runs reuse the cache in seconds"
for binary in kube-apiserver kube-controller-manager kubectl etcd; do
  go_build "$binary (Kubernetes $version)" "$module_dir" "./cmd/$binary" "$tmp/$binary" -trimpath -ldflags "$ldflags"
done
# kwok builds on its own module graph: inside its module, as `go install ...@version` would.
kwok_dir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$kwok_dir" ] || { log "could not download sigs.k8s.io/kwok@$KWOK_VERSION"; exit 1; }
go_build "kwok $KWOK_VERSION" "$kwok_dir" ./cmd/kwok "$tmp/kwok" -trimpath -buildvcs=false -ldflags "-s -w"
go_build "kubelet-streams (exec, attach and port-forward for kwok's pods; see kubelet/main.go)" \
  "$here/kubelet" . "$tmp/kubelet-streams" -trimpath -ldflags "-s -w"
rm -rf "$out" && mv "$tmp" "$out"
log "built in $(( $(date +%s) - start ))s"
echo "$out"
