#!/usr/bin/env bash
# Regenerates klient-proto/src/protobuf/generated/ (./dev protogen).
#
# Downloads the pinned Go modules (versions.txt) into the Go module cache, finds the k8s-openapi
# sources cargo resolved, and runs the generator over both.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
modules=(k8s.io/api k8s.io/apimachinery k8s.io/apiextensions-apiserver k8s.io/kube-aggregator)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && go mod init klient-protogen-modules >/dev/null 2>&1)

args=()
while read -r k8s module_version; do
    [[ -z "$k8s" || "$k8s" == \#* ]] && continue
    dirs=()
    for module in "${modules[@]}"; do
        dir=$(cd "$scratch" && go mod download -json "$module@$module_version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
        [[ -d "$dir" ]] || { echo "regen: could not download $module@$module_version" >&2; exit 1; }
        dirs+=("$dir")
    done
    args+=(--version "$k8s=$(IFS=,; echo "${dirs[*]}")")
done < "$repo/tools/protogen/versions.txt"

openapi=$(cargo metadata --format-version 1 --manifest-path "$repo/Cargo.toml" |
    python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "k8s-openapi").rsplit("/", 1)[0])')

out="$repo/klient-proto/src/protobuf/generated"
rm -rf "$out"
cargo run --quiet --manifest-path "$repo/Cargo.toml" -p klient-protogen -- \
    --k8s-openapi "$openapi" --out "$out" "${args[@]}"
rustfmt --edition 2024 --config-path "$repo/rustfmt.toml" "$out/mod.rs"
echo "regenerated $out ($(cat "$out"/*.rs | wc -l) lines); coverage: $out/COVERAGE.md"
