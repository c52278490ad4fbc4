#!/usr/bin/env bash
# klient-tokio, klient-async-std (under smol and under async-std) and klient-blocking vs kube 5,
# side by side (issues 12 and 13). See README.md.
#
#   tools/compare/run.sh [all|runtime|build]
#
#   runtime  whole-process timings on the local cluster (tests/cluster/cluster.sh): exec of `true`,
#            listing LIST_PODS pods, PF_BYTES pushed through a forwarded port and read back;
#            ROUNDS interleaved rounds, medians and ratios to kube
#   build    `cargo build --release` of each program from an empty target dir, back to back:
#            wall time and the number of crates compiled; then klient-tokio's and kube's compiler
#            seconds split into crates both compile, the program, and each client's own
#            (build_split.py)
#
# Environment: ROUNDS (7), LIST_PODS (1000), PF_BYTES (67108864), CARGO_TARGET_DIR (where the
# runtime build goes; default tools/compare/target), BUILD_DIR (parent of the throw-away build-cost
# target dirs; default /tmp). The machine is small and noisy: read the ratios, not the numbers.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
part=${1:-all}
ROUNDS=${ROUNDS:-7}
LIST_PODS=${LIST_PODS:-1000}
PF_BYTES=${PF_BYTES:-$((64 << 20))}
BUILD_DIR=${BUILD_DIR:-/tmp}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}
# A compiler cache would make the build-cost numbers meaningless.
unset RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER

# The clients; each one's program is the binary CLIENT-prog, built by `package_of CLIENT` with
# `features_of CLIENT`.
clients=(klient-tokio klient-smol klient-async-std klient-blocking kube)
package_of() { case $1 in klient-smol | klient-async-std) echo klient-async-std-prog ;; *) echo "$1-prog" ;; esac; }
features_of() { case $1 in klient-smol) echo smol ;; klient-async-std) echo async-std ;; *) echo "" ;; esac; }

case $part in all | runtime | build) ;; *)
  echo "usage: $0 [all|runtime|build]" >&2
  exit 2
  ;;
esac

log() { echo "compare: $*" >&2; }
work=$(mktemp -d)
namespace=""
cluster_started=no

cleanup() {
  if [ -n "$namespace" ]; then
    log "deleting namespace $namespace"
    kubectl delete namespace "$namespace" --wait=false >/dev/null 2>&1 || true
  fi
  rm -rf "$work" "$BUILD_DIR"/klient-compare-build-*
  if [ "$cluster_started" = yes ]; then "$root/tests/cluster/cluster.sh" down || true; fi
}
trap cleanup EXIT

# The median of the numbers in file $1, one a line.
median() { sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# "$1 / $2" to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# --- runtime -------------------------------------------------------------------------------------

# A namespace with LIST_PODS Running pods on the kwok node: `box` (exec and port-forward go to it)
# and LIST_PODS-1 more, so that listing the namespace returns exactly LIST_PODS pods.
make_namespace() {
  namespace=klient-compare-$$
  log "creating namespace $namespace with $LIST_PODS pods"
  kubectl create namespace "$namespace" >/dev/null
  python3 - "$LIST_PODS" >"$work/pods.json" <<'EOF'
import json, sys
count = int(sys.argv[1])
def pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "compare"}},
            "spec": {"nodeName": "kwok-node-0", "containers": [{"name": "main", "image": "busybox"}]}}
names = ["box"] + ["pod-%04d" % i for i in range(1, count)]
json.dump({"apiVersion": "v1", "kind": "List", "items": [pod(n) for n in names]}, sys.stdout)
EOF
  kubectl apply -n "$namespace" -f "$work/pods.json" >/dev/null
  # Running, not just created: kwok's status updates must be over, or the objects (and so the
  # list) would change size between runs.
  kubectl wait -n "$namespace" --for=jsonpath='{.status.phase}'=Running pods --all --timeout=600s >/dev/null
  local count
  count=$(kubectl get pods -n "$namespace" --no-headers | wc -l)
  [ "$count" -eq "$LIST_PODS" ] || { log "expected $LIST_PODS pods, found $count"; exit 1; }
}

# Runs CLIENT's program with ARGS once, timed: appends the wall time in ms to $work/NAME.CLIENT.
timed() {
  local name=$1 client=$2 start end
  shift 2
  start=$(date +%s%N)
  if ! "$CARGO_TARGET_DIR/release/$client-prog" "$@" >"$work/out" 2>"$work/err"; then
    log "$client $* failed:"
    cat "$work/err" >&2
    exit 1
  fi
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN {printf "%.1f\n", ns / 1e6}' >>"$work/$name.$client"
}

run_runtime() {
  local client
  # One package at a time, so each binary has exactly the features its own build-cost build has
  # (cargo unifies features across the packages built together).
  for client in "${clients[@]}"; do
    log "building $client-prog (release)"
    (cd "$here" && cargo build --release --quiet -p "$(package_of "$client")" --features "$(features_of "$client")" \
      --bin "$client-prog")
  done
  if ! "$root/tests/cluster/cluster.sh" status; then
    log "the local cluster is not up: starting it (and stopping it at the end)"
    "$root/tests/cluster/cluster.sh" up
    cluster_started=yes
  fi
  eval "$("$root/tests/cluster/cluster.sh" env)"
  # shellcheck disable=SC1091
  . "$KLIENT_CLUSTER_DIR/ports.env"
  make_namespace

  # Each program's build-demo once, untimed: proves it works and warms the binaries' pages.
  for client in "${clients[@]}"; do
    log "$client build-demo: $("$CARGO_TARGET_DIR/release/$client-prog" build-demo "$namespace" box)"
  done

  log "$ROUNDS rounds; the clients take turns going first"
  local round i
  for round in $(seq 1 "$ROUNDS"); do
    for i in "${!clients[@]}"; do
      client=${clients[$(((round + i) % ${#clients[@]}))]}
      timed exec "$client" exec-true "$namespace" box
      timed list "$client" list "$namespace"
      [ "$(cat "$work/out")" = "$LIST_PODS" ] || { log "$client listed $(cat "$work/out") pods"; exit 1; }
      timed portforward "$client" port-forward "$namespace" box "$ECHO_PORT" "$PF_BYTES"
    done
    log "round $round of $ROUNDS done"
  done

  echo
  echo "Whole-process wall time, median of $ROUNDS runs in ms (and the range); ratios of medians to kube 5"
  printf '%-30s' measurement
  printf ' %-20s' "${clients[@]}"
  echo
  local m label k cells
  for m in exec list portforward; do
    case $m in
      exec) label="exec \`true\`" ;;
      list) label="list $LIST_PODS pods" ;;
      portforward) label="port-forward $((PF_BYTES >> 20)) MiB round trip" ;;
    esac
    cells=()
    for client in "${clients[@]}"; do
      cells+=("$(median "$work/$m.$client") ($(sort -n "$work/$m.$client" | head -1)-$(sort -n "$work/$m.$client" | tail -1))")
    done
    printf '%-30s' "$label"
    printf ' %-20s' "${cells[@]}"
    echo
    k=$(median "$work/$m.kube")
    printf '%-30s' "  ratio to kube"
    for client in "${clients[@]}"; do printf ' %-20s' "$(ratio "$(median "$work/$m.$client")" "$k")"; done
    echo
  done
  cells=()
  for client in "${clients[@]}"; do
    cells+=("$client $(awk -v mib=$((PF_BYTES >> 20)) -v ms="$(median "$work/portforward.$client")" \
      'BEGIN {printf "%.0f", mib / (ms / 1000)}')")
  done
  echo "port-forward MiB/s each way (whole process, from the medians): ${cells[*]}"
  echo

  log "deleting namespace $namespace"
  kubectl delete namespace "$namespace" --timeout=300s >/dev/null
  namespace=""
}

# --- build cost ----------------------------------------------------------------------------------

run_build() {
  # Downloads are not build cost: fetch everything first.
  (cd "$here" && cargo fetch --quiet)
  echo
  echo "cargo build --release from an empty target dir ($(nproc) cores), back to back"
  # CPU time (user + sys of rustc and friends) moves less than wall time when other work shares
  # the machine.
  printf '%-26s %12s %12s %18s\n' program "wall time s" "CPU time s" "crates compiled"
  local client dir wall user sys cpu crates TIMEFORMAT='%1R %1U %1S'
  local -A walls cpus counts
  for client in klient-tokio kube klient-smol klient-blocking; do
    dir=$BUILD_DIR/klient-compare-build-$client
    rm -rf "$dir"
    # --timings records each crate's compile time, for the split below.
    if ! { time (cd "$here" && CARGO_TARGET_DIR=$dir cargo build --release -p "$(package_of "$client")" \
      --features "$(features_of "$client")" --bin "$client-prog" --timings 2>"$work/build.log"); } \
      2>"$work/build.time"; then
      cat "$work/build.log" >&2
      exit 1
    fi
    read -r wall user sys <"$work/build.time"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.1f", u + s}')
    crates=$(grep -c '^ *Compiling ' "$work/build.log")
    printf '%-26s %12s %12s %18s\n' "$client-prog" "$wall" "$cpu" "$crates"
    walls[$client]=$wall cpus[$client]=$cpu counts[$client]=$crates
    cp "$dir/cargo-timings/cargo-timing.html" "$work/$client-timings.html"
    rm -rf "$dir"
  done
  for client in klient-tokio klient-smol; do
    printf '%-26s %12s %12s %18s\n' "$client/kube" "$(ratio "${walls[$client]}" "${walls[kube]}")" \
      "$(ratio "${cpus[$client]}" "${cpus[kube]}")" "$(ratio "${counts[$client]}" "${counts[kube]}")"
  done
  echo
  echo "compiler seconds per crate (cargo --timings): what both builds compile, and what each adds"
  python3 "$here/build_split.py" "$work/klient-tokio-timings.html" klient-tokio-prog \
    "$work/kube-timings.html" kube-prog
}

case $part in
  runtime) run_runtime ;;
  build) run_build ;;
  all)
    run_runtime
    run_build
    ;;
esac
