#!/usr/bin/env bash
# Port-forward listeners side by side with `kubectl port-forward` (issue 14): each forwards a
# local port to the same pod, whose port reaches the local cluster's echo server; a small
# client pushes BYTES through one connection and reads them back (both at once), then CONNS
# connections at once with BYTES/CONNS each, every byte checked. ROUNDS interleaved rounds;
# medians in MiB/s each way and ratios to kubectl.
#
#   tools/compare/listeners.sh
#
# Environment: ROUNDS (5), BYTES (67108864), CONNS (16), FORWARDERS (kubectl first, then any of
# klient-blocking klient-tokio klient-smol klient-async-std kube; default all; a klient one may
# end in @spdy or @v4 for the direct SPDY upgrade or the v4 protocol instead of the WebSocket
# tunnel, e.g. klient-tokio@v4), CARGO_TARGET_DIR
# (default tools/compare/target). The machine is small and noisy: read the ratios, not the numbers.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ROUNDS=${ROUNDS:-5}
BYTES=${BYTES:-$((64 << 20))}
CONNS=${CONNS:-16}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}
unset RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER

# kubectl first: the others' ratios are to it.
read -r -a forwarders <<<"${FORWARDERS:-kubectl klient-blocking klient-tokio klient-smol klient-async-std kube}"
[ "${forwarders[0]}" = kubectl ] || { echo "listeners: FORWARDERS must start with kubectl" >&2; exit 2; }
program_of() { echo "${1%@*}"; }
package_of() { case $(program_of "$1") in klient-smol | klient-async-std) echo klient-async-std-prog ;; *) echo "$(program_of "$1")-prog" ;; esac; }
features_of() { case $(program_of "$1") in klient-smol) echo smol ;; klient-async-std) echo async-std ;; *) echo "" ;; esac; }
# The carriers a klient listener tries (the programs read KLIENT_CARRIERS): unset for its default.
carriers_of() { case $1 in *@spdy) echo spdy ;; *@v4) echo v4 ;; *) echo "" ;; esac; }

log() { echo "listeners: $*" >&2; }
work=$(mktemp -d)
namespace=""
cluster_started=no
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$namespace" ]; then kubectl delete namespace "$namespace" --wait=false >/dev/null 2>&1 || true; fi
  rm -rf "$work"
  if [ "$cluster_started" = yes ]; then "$root/tests/cluster/cluster.sh" down || true; fi
}
trap cleanup EXIT

median() { sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# The client: CONNS connections to 127.0.0.1:PORT at once, each writing its share of BYTES (a
# pattern with a prime period, different per connection) while reading it back; prints the
# seconds from the first connect to the last byte, or fails on any difference.
cat >"$work/push.py" <<'PY'
import socket, sys, threading, time
port, total, conns = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
share = total // conns
PERIOD = 1000003
base = bytes(((i % PERIOD) * 7 + 13) % 251 for i in range(PERIOD + 65536))
failures = []
def one(n):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        offset = (n * 9973) % PERIOD
        def data(at, size):
            out = bytearray()
            while len(out) < size:
                start = (offset + at + len(out)) % PERIOD
                out += base[start:start + min(65536, size - len(out))]
            return bytes(out)
        def send():
            sent = 0
            while sent < share:
                chunk = data(sent, min(256 * 1024, share - sent))
                s.sendall(chunk)
                sent += len(chunk)
        writer = threading.Thread(target=send)
        writer.start()
        got = 0
        while got < share:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise Exception(f"connection {n} ended after {got} of {share} bytes")
            if chunk != data(got, len(chunk)):
                raise Exception(f"connection {n}: different bytes at {got}")
            got += len(chunk)
        writer.join()
        s.close()
    except Exception as e:
        failures.append(str(e))
start = time.monotonic()
threads = [threading.Thread(target=one, args=(n,)) for n in range(conns)]
for t in threads: t.start()
for t in threads: t.join()
if failures:
    print("; ".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"{time.monotonic() - start:.3f}")
PY

for f in "${forwarders[@]}"; do
  [ "$f" = kubectl ] && continue
  log "building $(program_of "$f")-prog (release)"
  (cd "$here" && cargo build --release --quiet -p "$(package_of "$f")" --features "$(features_of "$f")" \
    --bin "$(program_of "$f")-prog")
done
if ! "$root/tests/cluster/cluster.sh" status >/dev/null; then
  log "the local cluster is not up: starting it (and stopping it at the end)"
  "$root/tests/cluster/cluster.sh" up
  cluster_started=yes
fi
eval "$("$root/tests/cluster/cluster.sh" env)"
# shellcheck disable=SC1091
. "$KLIENT_CLUSTER_DIR/ports.env"
namespace=klient-listeners-$$
kubectl create namespace "$namespace" >/dev/null
kubectl run box -n "$namespace" --image=busybox --restart=Never \
  --overrides='{"spec": {"nodeName": "kwok-node-0"}}' >/dev/null
kubectl wait -n "$namespace" --for=jsonpath='{.status.phase}'=Running pod/box --timeout=120s >/dev/null

# Each forwarder on a port of its own, started once and used by every round.
declare -A port_of
next=$((20000 + RANDOM % 20000))
for f in "${forwarders[@]}"; do
  port=$next
  next=$((next + 1))
  if [ "$f" = kubectl ]; then
    kubectl port-forward -n "$namespace" pod/box "$port:$ECHO_PORT" >"$work/$f.log" 2>&1 &
  elif [ -n "$(carriers_of "$f")" ]; then
    KLIENT_CARRIERS=$(carriers_of "$f") "$CARGO_TARGET_DIR/release/$(program_of "$f")-prog" listen "$namespace" box \
      "$ECHO_PORT" "127.0.0.1:$port" >"$work/$f.log" 2>&1 &
  else
    "$CARGO_TARGET_DIR/release/$f-prog" listen "$namespace" box "$ECHO_PORT" "127.0.0.1:$port" >"$work/$f.log" 2>&1 &
  fi
  pids+=($!)
  port_of[$f]=$port
done
for f in "${forwarders[@]}"; do
  for _ in $(seq 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1]))).close()" "${port_of[$f]}" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
done

for round in $(seq 1 "$ROUNDS"); do
  for i in "${!forwarders[@]}"; do
    f=${forwarders[$(((round + i) % ${#forwarders[@]}))]}
    for mode in one many; do
      conns=1
      [ "$mode" = many ] && conns=$CONNS
      if ! seconds=$(python3 "$work/push.py" "${port_of[$f]}" "$BYTES" "$conns" 2>"$work/err"); then
        log "$f ($conns connections) failed: $(cat "$work/err")"
        cat "$work/$f.log" >&2
        exit 1
      fi
      awk -v mib=$((BYTES >> 20)) -v s="$seconds" 'BEGIN {printf "%.1f\n", mib / s}' >>"$work/$mode.$f"
    done
  done
  log "round $round of $ROUNDS done"
done

echo
echo "Port-forward through a local listener to the same pod, MiB/s each way (median of $ROUNDS; ratio to kubectl)"
printf '%-34s' ""
printf ' %-18s' "${forwarders[@]}"
echo
for mode in one many; do
  label="1 connection, $((BYTES >> 20)) MiB"
  [ "$mode" = many ] && label="$CONNS connections, $((BYTES >> 20)) MiB in all"
  printf '%-34s' "$label"
  k=$(median "$work/$mode.kubectl")
  for f in "${forwarders[@]}"; do
    printf ' %-18s' "$(median "$work/$mode.$f") ($(ratio "$(median "$work/$mode.$f")" "$k"))"
  done
  echo
done
