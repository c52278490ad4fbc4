#!/usr/bin/env bash
# A real Kubernetes control plane on 127.0.0.1, built from the upstream Go modules (see build.sh).
#
#   tests/cluster/cluster.sh up        start etcd, kube-apiserver, kube-controller-manager and kwok
#                                      (a no-op when this cluster is already up), wait until ready
#   tests/cluster/cluster.sh down      stop every process the cluster started and wipe its state
#   tests/cluster/cluster.sh status    exit 0 when the cluster answers /readyz, else 1
#   tests/cluster/cluster.sh env       print `export ...` lines for KUBECONFIG and friends
#   tests/cluster/cluster.sh restart-apiserver   stop kube-apiserver and start it again (tests use it
#                                      to prove that watches survive a server restart)
#
# Everything lives in $KLIENT_CLUSTER_DIR (default ~/.klient/cluster): PKI, etcd data, logs, pid files,
# and the kubeconfigs admin.kubeconfig (cluster-admin by bearer token), admin-cert.kubeconfig
# (cluster-admin by client certificate) and restricted.kubeconfig (a service account that may only
# read pods in the namespace klient-restricted). Ports are picked free at `up` and kept in ports.env.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${KLIENT_CLUSTER_DIR:-$HOME/.klient/cluster}
log() { echo "cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

processes=(etcd kube-apiserver kube-controller-manager echo-server kubelet-streams kwok)
KWOK_VERSION=v0.8.0  # keep in step with build.sh

pid_alive() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

# Stops one process started by `start_process`, with its whole process group, and waits for it.
stop_process() {
  local name=$1 pid
  [ -f "$dir/$name.pid" ] || return 0
  pid=$(cat "$dir/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$dir/$name.pid"
}

# Starts a process in its own session (so `down` can stop it and everything it spawned), logging to
# $dir/logs/NAME.log.
start_process() {
  local name=$1; shift
  mkdir -p "$dir/logs"
  # fd 9 is the lock that `up` holds; a long-lived child must not keep holding it.
  setsid "$@" >>"$dir/logs/$name.log" 2>&1 < /dev/null 9>&- &
  echo $! > "$dir/$name.pid"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits until COMMAND succeeds, failing with the named log's tail when PROCESS dies or time runs out.
wait_for() {
  local what=$1 process=$2 seconds=$3; shift 3
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$process"; then
      tail -n 30 "$dir/logs/$process.log" >&2 || true
      die "$process exited while waiting for $what (log: $dir/logs/$process.log)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 30 "$dir/logs/$process.log" >&2 || true
      die "timed out after ${seconds}s waiting for $what (log: $dir/logs/$process.log)"
    fi
    sleep 0.5
  done
}

make_pki() {
  local p=$dir/pki
  mkdir -p "$p"
  [ -f "$p/done" ] && return 0
  log "creating PKI in $p"
  (
    cd "$p"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=klient-test-ca" 2>/dev/null
    # One serving certificate for the API server (also valid in-cluster names) and one for kwok's
    # kubelet endpoint.
    serve() {
      local name=$1 cn=$2 san=$3
      openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn" 2>/dev/null
      printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' "$san" > "$name.ext"
      openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" -days 3650 -extfile "$name.ext" 2>/dev/null
    }
    serve apiserver kube-apiserver "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    serve kubelet kwok-node-0 "IP:127.0.0.1,DNS:localhost"
    client() {
      local name=$1 subj=$2
      openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
      printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' > "$name.ext"
      openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" -days 3650 -extfile "$name.ext" 2>/dev/null
    }
    client admin "/O=system:masters/CN=klient-admin"
    client apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    # A static bearer token for the admin user: tests read it from the kubeconfig.
    token=$(openssl rand -hex 24)
    echo "$token,klient-admin,klient-admin,system:masters" > tokens.csv
    echo "$token" > admin.token
    chmod 600 ./*.key tokens.csv admin.token
    touch done
  )
}

# Writes a kubeconfig with one cluster, one user and one context named "klient".
write_kubeconfig() {
  local file=$1 user_yaml=$2
  cat > "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: klient
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $dir/pki/ca.crt
users:
- name: klient
  user:
$user_yaml
contexts:
- name: klient
  context:
    cluster: klient
    user: klient
    namespace: default
current-context: klient
EOF
  chmod 600 "$file"
}

start_apiserver() {
  start_process kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
    --tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
    --client-ca-file="$dir/pki/ca.crt" \
    --token-auth-file="$dir/pki/tokens.csv" \
    --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$dir/pki/sa.pub" \
    --service-account-signing-key-file="$dir/pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --allow-privileged=true \
    --kubelet-preferred-address-types=InternalIP \
    --endpoint-reconciler-type=none \
    --kubelet-client-certificate="$dir/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$dir/pki/apiserver-kubelet-client.key" \
    --profiling=false
  wait_for "kube-apiserver /readyz" kube-apiserver 180 \
    curl -sf --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $(cat "$dir/pki/admin.token")" \
      "https://127.0.0.1:$APISERVER_PORT/readyz"
}

# kwok plays the kubelet: it turns the Node Ready and pods Running (Stage documents shipped in its
# module) and serves the pods' logs from CRI-format files. The Node's kubelet port is kubelet-streams,
# which serves exec, attach and port-forward itself with the kubelet's streaming library and passes
# everything else on to kwok (kubelet/main.go says why kwok's own exec is not enough).
start_kwok() {
  local stages kw=$dir/kwok
  stages=$(cd "$dir" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/kustomize/stage
  [ -d "$stages" ] || die "kwok's stage documents are missing (looked in $stages)"
  mkdir -p "$kw/work" "$kw/logs"
  # Log files in the CRI format that kubelets write: kwok serves them for `kubectl logs` and attach.
  {
    echo "2026-01-01T00:00:00.000000000Z stdout F klient log line 1"
    echo "2026-01-01T00:00:01.000000000Z stderr F klient log line 2"
    echo "2026-01-01T00:00:02.000000000Z stdout F klient log line 3"
  } > "$kw/logs/app.log"
  : > "$kw/logs/attach.log"
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cat "$stages/$f"; printf '\n---\n'
  done > "$kw/stages.yaml"
  cat > "$kw/debugging.yaml" <<EOF
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata: {name: local-exec}
spec:
  execs:
  - local:
      workDir: $kw/work
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: local-logs}
spec:
  logs:
  - logsFile: $kw/logs/app.log
    previousLogsFile: $kw/logs/app.log
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterAttach
metadata: {name: local-attach}
spec:
  attaches:
  - logsFile: $kw/logs/attach.log
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterPortForward
metadata: {name: local-port-forward}
spec:
  forwards:
  - target: {address: 127.0.0.1, port: $ECHO_PORT}
EOF
  log "starting kubelet-streams on 127.0.0.1:$KUBELET_PORT and kwok on 127.0.0.1:$KWOK_PORT"
  start_process kubelet-streams "$bin/kubelet-streams" --listen="127.0.0.1:$KUBELET_PORT" \
    --tls-cert-file="$dir/pki/kubelet.crt" --tls-private-key-file="$dir/pki/kubelet.key" \
    --ca-file="$dir/pki/ca.crt" --kwok="https://127.0.0.1:$KWOK_PORT" --workdir="$kw/work"
  # KWOK_WORKDIR keeps a stray ~/.kwok/kwok.yaml from changing the configuration.
  KWOK_WORKDIR=$kw start_process kwok "$bin/kwok" --kubeconfig="$dir/admin.kubeconfig" \
    --config="$kw/stages.yaml" --config="$kw/debugging.yaml" \
    --manage-all-nodes=true --node-ip=127.0.0.1 --node-port="$KUBELET_PORT" \
    --server-address="127.0.0.1:$KWOK_PORT" \
    --tls-cert-file="$dir/pki/kubelet.crt" --tls-private-key-file="$dir/pki/kubelet.key"
  # The node comes with both its addresses. kwok's node-initialize stage runs again whenever
  # Ready stops being True (a late heartbeat, an API server restart); when the node then lacks
  # either an InternalIP or a Hostname address, that stage writes `addresses:` with no entry it
  # can fill, which deletes every address, and the API server can no longer reach the kubelet
  # (logs, exec and port-forward fail with "no preferred addresses found").
  kubectl_admin create -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-0, kubernetes.io/os: linux}
status:
  addresses:
  - {type: InternalIP, address: 127.0.0.1}
  - {type: Hostname, address: kwok-node-0}
EOF
  wait_for "node kwok-node-0 to be Ready" kwok 120 \
    kubectl_admin wait --for=condition=Ready node/kwok-node-0 --timeout=2s
  local addresses
  addresses=$(kubectl_admin get node kwok-node-0 -o jsonpath='{range .status.addresses[*]}{.type} {end}')
  [ "$addresses" = "InternalIP Hostname " ] ||
    die "node kwok-node-0 has addresses '$addresses', not an InternalIP and a Hostname"
}

kubectl_admin() { "$bin/kubectl" --kubeconfig "$dir/admin.kubeconfig" "$@"; }

cmd_status() {
  [ -f "$dir/ports.env" ] || return 1
  # shellcheck disable=SC1091
  . "$dir/ports.env"
  for p in "${processes[@]}"; do pid_alive "$p" || return 1; done
  curl -sf --max-time 5 --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $(cat "$dir/pki/admin.token")" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null
}

cmd_env() {
  [ -f "$dir/ports.env" ] || die "no cluster in $dir: run '$0 up' first"
  # shellcheck disable=SC1091
  . "$dir/ports.env"
  echo "export KLIENT_CLUSTER_DIR='$dir'"
  echo "export KUBECONFIG='$dir/admin.kubeconfig'"
  echo "export KLIENT_KUBECTL='$BIN_DIR/kubectl'"
  echo "export PATH='$BIN_DIR':\"\$PATH\""
}

cmd_down() {
  local p
  # Reverse start order, so nothing is left trying to reach a server that already went.
  for ((i=${#processes[@]}-1; i>=0; i--)); do
    p=${processes[$i]}
    if pid_alive "$p"; then log "stopping $p"; fi
    stop_process "$p"
  done
  rm -rf "$dir"
}

cmd_up() {
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9
  if cmd_status; then
    log "already up: $(cat "$dir/admin.kubeconfig" | sed -n 's/^ *server: //p')"
    print_usage
    return 0
  fi
  # A half-started or crashed cluster is torn down and started afresh rather than patched up.
  for p in "${processes[@]}"; do stop_process "$p"; done
  rm -rf "$dir/etcd" "$dir/logs" "$dir/ports.env"

  bin=$("$here/build.sh")
  command -v openssl >/dev/null || die "openssl is required"
  command -v curl >/dev/null || die "curl is required"
  command -v python3 >/dev/null || die "python3 is required"
  make_pki

  ETCD_PORT=$(free_port); ETCD_PEER_PORT=$(free_port); APISERVER_PORT=$(free_port)
  KUBELET_PORT=$(free_port); KWOK_PORT=$(free_port); ECHO_PORT=$(free_port)
  cat > "$dir/ports.env" <<EOF
BIN_DIR=$bin
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
APISERVER_PORT=$APISERVER_PORT
KUBELET_PORT=$KUBELET_PORT
KWOK_PORT=$KWOK_PORT
ECHO_PORT=$ECHO_PORT
EOF

  log "starting etcd on 127.0.0.1:$ETCD_PORT"
  start_process etcd "$bin/etcd" --name klient --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "klient=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" \
    --unsafe-no-fsync --log-level warn
  wait_for "etcd health" etcd 60 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

  log "starting kube-apiserver on https://127.0.0.1:$APISERVER_PORT"
  start_apiserver

  write_kubeconfig "$dir/admin.kubeconfig" "    token: $(cat "$dir/pki/admin.token")"
  write_kubeconfig "$dir/admin-cert.kubeconfig" "    client-certificate: $dir/pki/admin.crt
    client-key: $dir/pki/admin.key"

  log "starting kube-controller-manager"
  start_process kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$dir/admin.kubeconfig" \
    --authentication-kubeconfig="$dir/admin.kubeconfig" --authorization-kubeconfig="$dir/admin.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false \
    --root-ca-file="$dir/pki/ca.crt" \
    --service-account-private-key-file="$dir/pki/sa.key" --use-service-account-credentials=true \
    --cluster-signing-cert-file="$dir/pki/ca.crt" --cluster-signing-key-file="$dir/pki/ca.key" \
    --controllers='*,-node-ipam-controller'

  log "starting an echo server on 127.0.0.1:$ECHO_PORT (the port-forward target)"
  start_process echo-server python3 "$here/echo_server.py" "$ECHO_PORT"

  start_kwok

  # The default service account appears once the controller manager runs; pods need it.
  wait_for "the default service account" kube-controller-manager 120 kubectl_admin get serviceaccount default -n default
  make_restricted_kubeconfig
  log "ready in $dir"
  print_usage
}

# A service account that may only read pods in one namespace, for permission-error tests. Its token
# is a legacy service-account-token Secret, so it does not expire during a long test run.
make_restricted_kubeconfig() {
  kubectl_admin apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: klient-restricted}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: klient-restricted}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: reader-token
  namespace: klient-restricted
  annotations: {kubernetes.io/service-account.name: reader}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: klient-restricted}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader-reads-pods, namespace: klient-restricted}
subjects:
- {kind: ServiceAccount, name: reader, namespace: klient-restricted}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
EOF
  local token=""
  for _ in $(seq 1 120); do
    token=$(kubectl_admin get secret reader-token -n klient-restricted -o jsonpath='{.data.token}' 2>/dev/null || true)
    [ -n "$token" ] && break
    sleep 0.5
  done
  [ -n "$token" ] || die "the token controller never filled klient-restricted/reader-token"
  write_kubeconfig "$dir/restricted.kubeconfig" "    token: $(echo "$token" | base64 -d)"
  sed -i 's/namespace: default/namespace: klient-restricted/' "$dir/restricted.kubeconfig"
}

print_usage() {
  cat >&2 <<EOF
cluster: kubeconfigs in $dir:
  admin.kubeconfig       cluster-admin (bearer token)
  admin-cert.kubeconfig  cluster-admin (client certificate)
  restricted.kubeconfig  service account klient-restricted/reader (read pods in klient-restricted only)
cluster: try   eval "\$($0 env)"; kubectl get nodes
EOF
}

cmd_restart_apiserver() {
  cmd_status || die "the cluster is not up"
  bin=$BIN_DIR
  stop_process kube-apiserver
  start_apiserver
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  restart-apiserver) cmd_restart_apiserver ;;
  *) echo "usage: $0 up|down|status|env|restart-apiserver" >&2; exit 2 ;;
esac
