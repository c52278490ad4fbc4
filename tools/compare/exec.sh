#!/usr/bin/env bash
# exec against kubectl (issue 14), whole processes on the same cluster and pod: a one-shot exec of
# `true`; EXEC_BYTES read from a command's stdout (`head -c N /dev/zero`); EXEC_BYTES written to a
# command's stdin and counted by it (`wc -c`, its count checked). ROUNDS interleaved rounds,
# medians in ms, MiB/s for the transfers, ratios of time to kubectl's (below 1 is faster).
#
#   tools/compare/exec.sh
#
# Environment: ROUNDS (5), EXEC_BYTES (268435456), CLIENTS (kubectl first, then any of
# klient-blocking klient-tokio klient-smol klient-async-std; default all), CARGO_TARGET_DIR
# (default tools/compare/target). The machine is small and noisy: read the ratios.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ROUNDS=${ROUNDS:-5}
EXEC_BYTES=${EXEC_BYTES:-$((256 << 20))}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}
unset RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER

read -r -a clients <<<"${CLIENTS:-kubectl klient-blocking klient-tokio klient-smol klient-async-std}"
[ "${clients[0]}" = kubectl ] || { echo "exec: CLIENTS must start with kubectl" >&2; exit 2; }
package_of() { case $1 in klient-smol | klient-async-std) echo klient-async-std-prog ;; *) echo "$1-prog" ;; esac; }
features_of() { case $1 in klient-smol) echo smol ;; klient-async-std) echo async-std ;; *) echo "" ;; esac; }

log() { echo "exec: $*" >&2; }
work=$(mktemp -d)
namespace=""
cluster_started=no
cleanup() {
  if [ -n "$namespace" ]; then kubectl delete namespace "$namespace" --wait=false >/dev/null 2>&1 || true; fi
  rm -rf "$work"
  if [ "$cluster_started" = yes ]; then "$root/tests/cluster/cluster.sh" down || true; fi
}
trap cleanup EXIT

median() { sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
now_ms() { date +%s%3N; }

for c in "${clients[@]}"; do
  [ "$c" = kubectl ] && continue
  log "building $c-prog (release)"
  (cd "$here" && cargo build --release --quiet -p "$(package_of "$c")" --features "$(features_of "$c")" --bin "$c-prog")
done
if ! "$root/tests/cluster/cluster.sh" status >/dev/null; then
  log "the local cluster is not up: starting it (and stopping it at the end)"
  "$root/tests/cluster/cluster.sh" up
  cluster_started=yes
fi
eval "$("$root/tests/cluster/cluster.sh" env)"
namespace=klient-exec-$$
kubectl create namespace "$namespace" >/dev/null
kubectl run box -n "$namespace" --image=busybox --restart=Never \
  --overrides='{"spec": {"nodeName": "kwok-node-0"}}' >/dev/null
kubectl wait -n "$namespace" --for=jsonpath='{.status.phase}'=Running pod/box --timeout=120s >/dev/null

# One measurement of client $1 doing $2 (true, out, in): its whole process, in ms; fails when the
# bytes or the count are wrong.
run_one() {
  local c=$1 what=$2 start end
  start=$(now_ms)
  if [ "$c" = kubectl ]; then
    case $what in
      true) kubectl exec -n "$namespace" box -- true ;;
      out)
        local got
        got=$(kubectl exec -n "$namespace" box -- head -c "$EXEC_BYTES" /dev/zero | wc -c)
        [ "$got" -eq "$EXEC_BYTES" ] || { log "kubectl: $got of $EXEC_BYTES bytes"; return 1; }
        ;;
      in)
        local counted
        counted=$(head -c "$EXEC_BYTES" /dev/zero | kubectl exec -i -n "$namespace" box -- wc -c)
        [ "$counted" -eq "$EXEC_BYTES" ] || { log "kubectl: wc counted $counted of $EXEC_BYTES"; return 1; }
        ;;
    esac
  else
    local bin=$CARGO_TARGET_DIR/release/$c-prog
    case $what in
      true) "$bin" exec-true "$namespace" box ;;
      out) "$bin" exec-out "$namespace" box "$EXEC_BYTES" ;;
      in) "$bin" exec-in "$namespace" box "$EXEC_BYTES" ;;
    esac
  fi
  end=$(now_ms)
  echo $((end - start)) >>"$work/$c.$what"
}

for round in $(seq 1 "$ROUNDS"); do
  for i in "${!clients[@]}"; do
    c=${clients[$(((round + i) % ${#clients[@]}))]}
    for what in true out in; do run_one "$c" "$what"; done
  done
  log "round $round of $ROUNDS done"
done

mib=$(awk -v b="$EXEC_BYTES" 'BEGIN {printf "%d", b / 1048576}')
echo
echo "exec, whole process, median of $ROUNDS (ms; MiB/s for the transfers; ratio of time to kubectl's)"
printf '%-28s' ""
printf ' %-22s' "${clients[@]}"
echo
for what in true out in; do
  case $what in
    true) label="exec \`true\`" ;;
    out) label="stdout, $mib MiB" ;;
    in) label="stdin, $mib MiB" ;;
  esac
  printf '%-28s' "$label"
  base=$(median "$work/kubectl.$what")
  for c in "${clients[@]}"; do
    m=$(median "$work/$c.$what")
    if [ "$what" = true ]; then
      printf ' %-22s' "$m ms ($(ratio "$m" "$base"))"
    else
      printf ' %-22s' "$(awk -v b="$EXEC_BYTES" -v ms="$m" 'BEGIN {printf "%.0f", b / 1048576 / (ms / 1000)}') MiB/s ($(ratio "$m" "$base"))"
    fi
  done
  echo
done
