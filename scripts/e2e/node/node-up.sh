#!/usr/bin/env bash
# Starts the real-kubelet tier's cluster on loopback: the control plane
# (../cluster-up.sh without kwok), containerd with runc and a bridge CNI, the
# local pause / busybox / kubetee images, and one real kubelet whose node is
# named `localhost` (so the API server reaches its kubelet on 127.0.0.1 for
# logs and exec without editing /etc/hosts). Every pid is recorded
# (STATE/pids, STATE/containerd.pid, STATE/kubelet.pid) and everything this
# touches outside STATE is listed in STATE/host-changes for node-down.sh.
#
# Usage: node-up.sh BIN_DIR NODE_BIN_DIR STATE_DIR   (prints the kubeconfig path)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
bin="${1:?usage: node-up.sh BIN_DIR NODE_BIN_DIR STATE_DIR}"
node_bin="${2:?usage: node-up.sh BIN_DIR NODE_BIN_DIR STATE_DIR}"
state="${3:?usage: node-up.sh BIN_DIR NODE_BIN_DIR STATE_DIR}"
mkdir -p "$state/logs"
changes="$state/host-changes"
: > "$changes"

# Fixed by the kubelet API, whatever --root-dir says: only one kubelet per machine.
dp_dir=/var/lib/kubelet/device-plugins
bridge=kubetee-e2e0
subnet_prefix=10.217.88
node_name=localhost

fail() { echo "e2e node: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (containerd, runc, cgroups, mounts)"
for tool in containerd ctr runc busybox ip openssl curl; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (apt-get install containerd runc busybox-static iproute2 openssl curl)"
done
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] \
  || fail "CNI plugins are missing (apt-get install containernetworking-plugins)"
# The test image holds busybox alone: it must not need shared libraries.
if ldd "$(command -v busybox)" >/dev/null 2>&1; then fail "$(command -v busybox) is dynamically linked; install busybox-static"; fi
[ -x "$node_bin/kubelet" ] && [ -x "$node_bin/pause" ] || fail "no kubelet/pause in $node_bin (scripts/e2e/node/build.sh)"
if [ -S "$dp_dir/kubelet.sock" ] && curl -s --max-time 1 --unix-socket "$dp_dir/kubelet.sock" http://x/ >/dev/null 2>&1; then
  fail "another kubelet serves $dp_dir/kubelet.sock; only one kubelet can run per machine"
fi
for c in /sys/fs/cgroup/*/kubepods; do
  [ -d "$c" ] && fail "$c exists: another kubelet's cgroups (or leftovers of a crashed run; remove them first)"
done
ip link show "$bridge" >/dev/null 2>&1 && fail "network interface $bridge exists (leftover of a crashed run? ip link del $bridge)"

# Record what exists before, so teardown removes only what this run created.
for d in /var/lib/kubelet /var/log/containers /var/run/netns /run/containerd /var/lib/cni /etc/cni /var/log/pods; do
  [ -e "$d" ] || echo "created-dir $d" >> "$changes"
done
ls /var/run/netns 2>/dev/null | sed 's/^/netns-before /' >> "$changes" || true

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
wait_for() { # description, seconds, command...
  local what="$1" secs="$2"
  shift 2
  for _ in $(seq 1 $((secs * 4))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  echo "e2e node: $what did not come up within ${secs}s; last log lines:" >&2
  tail -n 30 "$state"/logs/*.log >&2 || true
  return 1
}

# --- PKI for API server -> kubelet (logs, exec): the kubelet trusts a client CA
# of its own; the API server presents a client certificate in system:masters.
pki="$state/node-pki"
mkdir -p "$pki"
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/kubelet-client-ca.key" 2>/dev/null
openssl req -x509 -new -key "$pki/kubelet-client-ca.key" -subj "/CN=kubetee-e2e-kubelet-client-ca" -days 2 -out "$pki/kubelet-client-ca.crt" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/apiserver-kubelet-client.key" 2>/dev/null
openssl req -new -key "$pki/apiserver-kubelet-client.key" -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" -out "$pki/client.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > "$pki/client.ext"
openssl x509 -req -in "$pki/client.csr" -CA "$pki/kubelet-client-ca.crt" -CAkey "$pki/kubelet-client-ca.key" -CAcreateserial -days 2 \
  -extfile "$pki/client.ext" -out "$pki/apiserver-kubelet-client.crt" 2>/dev/null

# --- control plane (the kwok tier's script; no kwok here)
start=$(date +%s)
KUBETEE_E2E_KWOK=0 \
KUBETEE_E2E_APISERVER_ARGS="--kubelet-client-certificate=$pki/apiserver-kubelet-client.crt --kubelet-client-key=$pki/apiserver-kubelet-client.key --kubelet-preferred-address-types=Hostname" \
  "$here/../cluster-up.sh" "$bin" "$state" > /dev/null
kubeconfig="$state/kubeconfig"
echo "e2e node: control plane up in $(( $(date +%s) - start ))s" >&2

# --- CNI: a bridge of our own with a host address, so the kubelet's probes
# reach pod IPs on-link. isGateway=false and ipMasq=false: no ip_forward, no
# iptables rules, no default route in pods; traffic stays between the host and
# the pod namespaces containerd creates.
ip link add "$bridge" type bridge
echo "bridge $bridge" >> "$changes"
ip addr add "$subnet_prefix.1/24" dev "$bridge"
ip link set "$bridge" up
mkdir -p "$state/cni/net.d" "$state/cni/ipam"
cat > "$state/cni/net.d/10-kubetee-e2e.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "kubetee-e2e",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "dataDir": "$state/cni/ipam",
        "ranges": [[{ "subnet": "$subnet_prefix.0/24", "rangeStart": "$subnet_prefix.10", "rangeEnd": "$subnet_prefix.250" }]]
      }
    },
    { "type": "loopback" }
  ]
}
JSON

# --- containerd with its own root, state and socket. restrict_oom_score_adj is
# required here: the VM's bounding set lacks CAP_SYS_RESOURCE, and without it
# every sandbox fails in runc ("can't get final child's PID from pipe: EOF").
# `runv` and `kata` handlers map to runc: they prove RuntimeClass plumbing only.
# runv keeps runc's state in its own root, so a test sees which handler ran a container.
ctrd="$state/containerd"
mkdir -p "$ctrd/root" "$ctrd/state"
sock="$ctrd/containerd.sock"
runtime() { # handler name [runc state root]
  cat <<TOML
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$1]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$1.options]
        SystemdCgroup = false
TOML
  [ -z "${2:-}" ] || printf '        Root = "%s"\n' "$2"
}
cat > "$ctrd/config.toml" <<TOML
version = 2
root = "$ctrd/root"
state = "$ctrd/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$ctrd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/kubetee-e2e/pause:1"
  restrict_oom_score_adj = true
  # Pod network namespaces under containerd's own state dir, not /var/run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
$(runtime runc)
$(runtime runv "$state/runc-runv")
$(runtime kata)
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni/net.d"
TOML
setsid bash -c 'echo $$ > "$0"; exec "$@"' "$state/containerd.pid" containerd --config "$ctrd/config.toml" \
  > "$state/logs/containerd.log" 2>&1 < /dev/null &
wait_for containerd 30 ctr --address "$sock" version

# --- images, written locally and imported (no registry)
images="$state/images"
mkdir -p "$images"
mkrootfs() { rm -rf "$1"; mkdir -p "$1"/{bin,dev,proc,sys,tmp,etc,var/run}; chmod 1777 "$1/tmp"; }
# pause: the sandbox binary (./pause, Go, static)
mkrootfs "$images/pause"
cp "$node_bin/pause" "$images/pause/pause"
"$here/image-tar.sh" "$images/pause" localhost/kubetee-e2e/pause:1 "$images/pause.tar" '["/pause"]'
# busybox: the test containers' only binary, with its applet links
mkrootfs "$images/busybox"
cp "$(command -v busybox)" "$images/busybox/bin/busybox"
for applet in $("$images/busybox/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$images/busybox/bin/$applet"
done
"$here/image-tar.sh" "$images/busybox" localhost/kubetee-e2e/busybox:1 "$images/busybox.tar" '["/bin/sh"]'
# kubetee: this checkout (dist + production node_modules) on the host's node,
# with the shared libraries ldd lists. The installed webhook Deployment runs it.
"$here/kubetee-layer.sh" "$repo" "$images/kubetee-layer.tar"
"$here/image-tar.sh" "$images/kubetee-layer.tar" localhost/kubetee-e2e/kubetee:dev "$images/kubetee.tar" '["/usr/bin/node","/app/bin/kubetee.js"]' /app
for t in pause busybox kubetee; do
  ctr --address "$sock" -n k8s.io images import --snapshotter overlayfs "$images/$t.tar" > /dev/null
  rm -rf "${images:?}/$t" "${images:?}/$t.tar"
done
echo "e2e node: containerd up, images imported in $(( $(date +%s) - start ))s" >&2

# --- the kubelet
kport="$(free_port)"
hport="$(free_port)"
kroot="$state/kubelet-root"
mkdir -p "$kroot" "$state/pod-logs"
printf 'options ndots:1\n' > "$state/resolv.conf"
cat > "$state/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: 127.0.0.1
port: $kport
healthzBindAddress: 127.0.0.1
healthzPort: $hport
readOnlyPort: 0
containerRuntimeEndpoint: unix://$sock
imageServiceEndpoint: unix://$sock
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
  memory.available: "50Mi"
podLogsDir: $state/pod-logs
resolvConf: $state/resolv.conf
nodeStatusUpdateFrequency: 2s
nodeStatusReportFrequency: 10s
syncFrequency: 10s
fileCheckFrequency: 5s
serializeImagePulls: false
makeIPTablesUtilChains: false
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $pki/kubelet-client-ca.crt
authorization:
  mode: Webhook
YAML
printf '%s\n' "$node_bin/kubelet" --config="$state/kubelet-config.yaml" --kubeconfig="$kubeconfig" \
  --hostname-override="$node_name" --root-dir="$kroot" --cert-dir="$kroot/pki" --v=2 > "$state/kubelet.args"
"$here/kubelet.sh" start "$state"

token="$(awk -F, 'NR==1{print $1}' "$state/pki/tokens.csv")"
api="$(awk '/server:/{print $2; exit}' "$kubeconfig")"
node_ready() {
  curl -sf -A kubetee-e2e --cacert "$state/pki/ca.crt" -H "Authorization: Bearer $token" "$api/api/v1/nodes/$node_name" \
    | grep -q '"type":"Ready","status":"True"'
}
wait_for "node $node_name Ready" 120 node_ready
echo "e2e node: kubelet node $node_name Ready in $(( $(date +%s) - start ))s" >&2
echo "$kubeconfig"
