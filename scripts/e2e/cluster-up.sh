#!/usr/bin/env bash
# Starts a loopback Kubernetes control plane for the e2e suite: etcd,
# kube-apiserver (default admission chain, so Mutating/ValidatingAdmissionWebhook
# are on), kube-controller-manager, kube-scheduler and kwok (fake nodes).
# Every port is a free one on 127.0.0.1; every process's pid goes to
# STATE_DIR/pids so cluster-down.sh can stop exactly these processes.
#
# Usage: cluster-up.sh BIN_DIR STATE_DIR
# Writes STATE_DIR/kubeconfig and STATE_DIR/logs/*.log; prints the kubeconfig path.
# Env (used by the real-kubelet tier, scripts/e2e/node): KUBETEE_E2E_KWOK=0 starts
# no kwok; KUBETEE_E2E_APISERVER_ARGS adds kube-apiserver flags (space-separated).
set -euo pipefail

bin="${1:?usage: cluster-up.sh BIN_DIR STATE_DIR}"
state="${2:?usage: cluster-up.sh BIN_DIR STATE_DIR}"
mkdir -p "$state/logs" "$state/pki" "$state/etcd"
: > "$state/pids"

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start() { # name, then the command
  local name="$1"
  shift
  "$@" > "$state/logs/$name.log" 2>&1 &
  echo "$! $name" >> "$state/pids"
}

wait_for() { # description, seconds, command...
  local what="$1" secs="$2"
  shift 2
  for _ in $(seq 1 $((secs * 4))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  echo "e2e cluster: $what did not come up within ${secs}s; last log lines:" >&2
  tail -n 30 "$state"/logs/*.log >&2 || true
  return 1
}

# PKI: a CA for the API server's serving certificate (SAN 127.0.0.1) and the
# service-account signing key. Clients authenticate with a static token.
pki="$state/pki"
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=kubetee-e2e-ca" -days 2 -out "$pki/ca.crt" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/apiserver.key" 2>/dev/null
openssl req -new -key "$pki/apiserver.key" -subj "/CN=kube-apiserver" -out "$pki/apiserver.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' > "$pki/apiserver.ext"
openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 -extfile "$pki/apiserver.ext" -out "$pki/apiserver.crt" 2>/dev/null
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
token="$(openssl rand -hex 24)"
printf '%s,kubetee-e2e-admin,kubetee-e2e-admin,"system:masters"\n' "$token" > "$pki/tokens.csv"

etcd_port="$(free_port)"
etcd_peer="$(free_port)"
api_port="$(free_port)"
kcm_port="$(free_port)"
sched_port="$(free_port)"
kwok_port="$(free_port)"

cat > "$state/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kubetee-e2e
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $pki/ca.crt
users:
- name: kubetee-e2e-admin
  user:
    token: $token
contexts:
- name: kubetee-e2e
  context:
    cluster: kubetee-e2e
    user: kubetee-e2e-admin
current-context: kubetee-e2e
EOF

start etcd "$bin/etcd" --name=node0 --data-dir="$state/etcd" \
  --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
  --listen-peer-urls="http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
  --initial-cluster="node0=http://127.0.0.1:$etcd_peer" --unsafe-no-fsync=true \
  --auto-compaction-retention=1 --quota-backend-bytes=$((512 * 1024 * 1024))
wait_for etcd 30 curl -sf "http://127.0.0.1:$etcd_port/health"

start kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" \
  --authorization-mode=RBAC \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range=10.96.0.0/24 --allow-privileged=true \
  --cert-dir="$state/apiserver-certs" ${KUBETEE_E2E_APISERVER_ARGS:-}
wait_for kube-apiserver 90 curl -sf --cacert "$pki/ca.crt" -H "Authorization: Bearer $token" "https://127.0.0.1:$api_port/readyz"

start kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig="$state/kubeconfig" --leader-elect=false \
  --bind-address=127.0.0.1 --secure-port="$kcm_port" \
  --root-ca-file="$pki/ca.crt" --service-account-private-key-file="$pki/sa.key" \
  --authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics \
  --kube-api-qps=100 --kube-api-burst=200
start kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig="$state/kubeconfig" --leader-elect=false \
  --bind-address=127.0.0.1 --secure-port="$sched_port" \
  --authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics
# kwok only manages nodes annotated kwok.x-k8s.io/node=fake (as kwokctl runs it).
[ "${KUBETEE_E2E_KWOK:-1}" = 0 ] || start kwok "$bin/kwok" --kubeconfig="$state/kubeconfig" --config="$bin/kwok-stages.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --server-address="127.0.0.1:$kwok_port" --node-ip=127.0.0.1

wait_for kube-controller-manager 60 curl -skf "https://127.0.0.1:$kcm_port/healthz"
wait_for kube-scheduler 60 curl -skf "https://127.0.0.1:$sched_port/healthz"
# The ServiceAccount admission plugin rejects pods until the controller made "default".
wait_for "default service account" 60 curl -sf --cacert "$pki/ca.crt" -H "Authorization: Bearer $token" \
  "https://127.0.0.1:$api_port/api/v1/namespaces/default/serviceaccounts/default"

echo "$state/kubeconfig"
