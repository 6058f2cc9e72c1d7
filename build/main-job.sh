#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: install what is needed, build the
# single executable, start the daemon on a temporary root (a unix socket, and mutual TLS on
# 127.0.0.1 with certificates made here), load the embedded sample image, run containers
# from it and from an external rootfs; build an OCI image from busybox-static with umoci, push
# it with skopeo to Debian's docker-registry on 127.0.0.1, pull it and run it, save and load
# it, export a container and import it; then Kubernetes' CRI v1 on a second daemon (a pod on
# a CNI bridge driven by crictl, when ../shared/tools/crictl or $CRICTL is there); show their
# output, and clean up. Everything runs offline.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "main-job: run as root (containers need it)" >&2; exit 1; }

if [ "${SKIP_SETUP:-}" != 1 ]; then bash build/setup.sh; fi
npm run build

work=$(mktemp -d /tmp/isulad-demo.XXXXXX)
sock="unix://$work/isulad.sock"
isula() { ./dist/isula -H "$sock" "$@"; }
cleanup() {
  isula rm -f $(isula ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  if [ -n "${daemon:-}" ]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  if [ -n "${cridaemon:-}" ]; then
    # Pods first (CNI DEL frees the veth and the address, the netns is unpinned), then the daemon.
    for pod in $(crictl pods -q 2>/dev/null); do crictl stopp "$pod" >/dev/null 2>&1 || true; crictl rmp -f "$pod" >/dev/null 2>&1 || true; done
    ./dist/isula -H "unix://$work/cri.sock" rm -f $(./dist/isula -H "unix://$work/cri.sock" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
    kill "$cridaemon" 2>/dev/null || true; wait "$cridaemon" 2>/dev/null || true
    for ns in "$work"/cri-state/netns/*; do if [ -e "$ns" ]; then umount -l "$ns" 2>/dev/null || true; fi; done
  fi
  # The CRI demo's bridge (ipMasq off: the bridge plugin added no iptables rules).
  if [ -n "${bridge:-}" ]; then ip link del "$bridge" 2>/dev/null || true; fi
  if [ -n "${registry:-}" ]; then kill "$registry" 2>/dev/null || true; wait "$registry" 2>/dev/null || true; fi
  rootfs-samples/embedded-image.sh --detach "$work/emb" >/dev/null 2>&1 || true
  # liblxc's lock directory for this root, and the engine's parent cgroups once empty.
  rm -rf "$work" "/run/lxc/lock$work"
  rmdir /sys/fs/cgroup/isulad /sys/fs/cgroup/isulad.monitor /sys/fs/cgroup/*/isulad /sys/fs/cgroup/*/isulad.monitor 2>/dev/null || true
}
trap cleanup EXIT

# A local registry for the OCI demo, reached over plain HTTP: an insecure registry to the daemon.
regport=$((20000 + RANDOM % 20000))
echo "{\"insecure-registries\": [\"127.0.0.1:$regport\"]}" > "$work/daemon.json"
# A CA and the certificates it signs, for the daemon's TLS listener and one client.
tls=$work/tls
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tls/ca-key.pem" -out "$tls/ca.pem" -days 1 -subj /CN=demo-ca 2>/dev/null
for who in server client; do
  openssl req -newkey rsa:2048 -nodes -keyout "$tls/$who-key.pem" -out "$tls/$who.csr" -subj "/CN=$who" 2>/dev/null
  if [ "$who" = server ]; then printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'; else printf 'extendedKeyUsage=clientAuth\n'; fi >"$tls/$who.ext"
  openssl x509 -req -in "$tls/$who.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial -days 1 -extfile "$tls/$who.ext" -out "$tls/$who.pem" 2>/dev/null
done
port=$((20000 + RANDOM % 20000))
./dist/isulad -g "$work/root" -S "$work/state" -H "$sock" -H "tcp://127.0.0.1:$port" -p "$work/isulad.pid" --config-file "$work/daemon.json" \
  --tlsverify --tlscacert "$tls/ca.pem" --tlscert "$tls/server.pem" --tlskey "$tls/server-key.pem" &
daemon=$!
for _ in $(seq 100); do [ -S "$work/isulad.sock" ] && break; sleep 0.1; done
[ -S "$work/isulad.sock" ] || { echo "main-job: the daemon did not start" >&2; exit 1; }

show() { echo "+ isula $*"; isula "$@"; }
show version
show info
manifest=$(rootfs-samples/embedded-image.sh "$work/emb" | tail -n 1)
show load -i "$manifest" -t embedded
show images
show run --rm test:v1 /app/hello.sh
show run --rm test:v1 sh -c 'echo "rootfs: $(cat /etc/hostname), app layer: $(cat /app/VERSION), c=$c"'
rootfs-samples/busybox-rootfs.sh "$work/bb" >/dev/null
show run --rm --external-rootfs "$work/bb" none sh -c 'echo hello from an external rootfs; uname -r'
# Loopback is up in every container, --net none included: a service can talk to itself.
show run --rm --net none --external-rootfs "$work/bb" none sh -c \
  'nc -l -p 7777 > /tmp/got & for i in $(seq 50); do echo "hello over 127.0.0.1" | nc 127.0.0.1 7777 2>/dev/null && break; sleep 0.1; done; wait; cat /tmp/got'
# The same daemon over TCP with mutual TLS; a client without a certificate is refused.
echo "+ isula -H tcp://127.0.0.1:$port --tlsverify ... ps -a"
./dist/isula -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$tls/ca.pem" --tlscert "$tls/client.pem" --tlskey "$tls/client-key.pem" ps -a
echo "+ isula -H tcp://127.0.0.1:$port --tls ... version (no client certificate)"
if ./dist/isula -H "tcp://127.0.0.1:$port" --tls --tlscacert "$tls/ca.pem" version >/dev/null 2>"$work/refused"; then
  echo "main-job: a client without a certificate was let in" >&2
  exit 1
fi
cat "$work/refused"

# An OCI image built offline: busybox-static and a few applets in one layer, made with umoci.
oci=$work/oci
umoci init --layout "$oci"
umoci new --image "$oci:demo"
umoci unpack --image "$oci:demo" "$work/bundle" >/dev/null
mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/etc"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
for applet in sh echo cat ls uname; do ln -s busybox "$work/bundle/rootfs/bin/$applet"; done
echo 'hello from an OCI image' > "$work/bundle/rootfs/etc/motd"
umoci repack --image "$oci:demo" "$work/bundle"
umoci config --image "$oci:demo" --config.env PATH=/bin --config.cmd cat --config.cmd /etc/motd
# Debian's docker-registry on 127.0.0.1, and skopeo (an independent client) to push to it.
printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$work/registry" "$regport" > "$work/registry.yml"
docker-registry serve "$work/registry.yml" &
registry=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$regport") 2>/dev/null && break; sleep 0.1; done
skopeo copy --quiet --dest-tls-verify=false "oci:$oci:demo" "docker://127.0.0.1:$regport/demo:1"
show pull "127.0.0.1:$regport/demo:1"
show images
show run --rm "127.0.0.1:$regport/demo:1"
show run --rm "127.0.0.1:$regport/demo:1" sh -c 'echo "from an overlay rootfs: $(uname -r)"'
show history "127.0.0.1:$regport/demo:1"
# Archives: save read by skopeo and loaded back; a container's filesystem exported, imported, run.
show tag "127.0.0.1:$regport/demo:1" mine:1
show save -o "$work/mine.tar" mine:1
echo "+ skopeo inspect docker-archive:$work/mine.tar"
skopeo inspect "docker-archive:$work/mine.tar" | grep -A3 '"Layers"'
show rmi mine:1
show load -i "$work/mine.tar"
show create --name exp mine:1
echo "+ isula export exp > $work/exp.tar && isula import $work/exp.tar flat:1"
isula export exp > "$work/exp.tar" && isula import "$work/exp.tar" flat:1
show run --rm flat:1 cat /etc/motd
show rm exp
show rmi mine:1 flat:1

# CRI v1 (Kubernetes) on a second daemon: the pause image built here, a CNI bridge of its own.
crictl_bin=${CRICTL:-../shared/tools/crictl}
if [ ! -x "$crictl_bin" ]; then
  echo "main-job: CRI demo skipped: crictl is missing (put it at ../shared/tools/crictl or set CRICTL)"
else
  crictl_bin=$(cd "$(dirname "$crictl_bin")" && pwd)/$(basename "$crictl_bin")
  crictl() { "$crictl_bin" -r "unix://$work/cri.sock" -i "unix://$work/cri.sock" --timeout 20s "$@"; }
  showc() { echo "+ crictl $*"; crictl "$@"; }
  # A bridge name and a 10.x/24 unique to this run; host-local keeps its addresses under $work.
  bridge=isd$((RANDOM % 100000))
  subnet=10.$((100 + RANDOM % 150)).$((RANDOM % 250)).0/24
  mkdir -p "$work/net.d"
  cat > "$work/net.d/10-demo.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "demo-$bridge", "plugins": [
  {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$subnet"}]], "dataDir": "$work/ipam"}},
  {"type": "loopback"}]}
EOF
  wsport=$((20000 + RANDOM % 20000))
  cat > "$work/cri.json" <<EOF
{"enable-cri-v1": true, "pod-sandbox-image": "localhost/pause:3.9", "network-plugin": "cni",
 "cni-conf-dir": "$work/net.d", "cni-bin-dir": "/usr/lib/cni", "websocket-server-listening-port": $wsport,
 "insecure-registries": ["127.0.0.1:$regport"]}
EOF
  echo "+ cat cri.json"; cat "$work/cri.json"
  ./dist/isulad -g "$work/cri-root" -S "$work/cri-state" -H "unix://$work/cri.sock" -p "$work/cri.pid" --config-file "$work/cri.json" &
  cridaemon=$!
  for _ in $(seq 100); do [ -S "$work/cri.sock" ] && break; sleep 0.1; done
  [ -S "$work/cri.sock" ] || { echo "main-job: the CRI daemon did not start" >&2; exit 1; }
  rootfs-samples/pause-image.sh --archive "$work/pause.tar" >/dev/null
  echo "+ isula load -i pause.tar (built by rootfs-samples/pause-image.sh)"
  ./dist/isula -H "unix://$work/cri.sock" load -i "$work/pause.tar"
  showc version
  echo "+ crictl info | head -n 20"
  crictl info | head -n 20
  showc pull "127.0.0.1:$regport/demo:1"
  showc images
  mkdir -p "$work/pod-logs"
  cat > "$work/pod.json" <<EOF
{"metadata": {"name": "demo", "namespace": "default", "uid": "demo-uid", "attempt": 0},
 "hostname": "demo-pod", "log_directory": "$work/pod-logs"}
EOF
  cat > "$work/ctr.json" <<EOF
{"metadata": {"name": "app"}, "image": {"image": "127.0.0.1:$regport/demo:1"},
 "command": ["/bin/busybox", "sleep", "1000"], "log_path": "app.log"}
EOF
  echo "+ crictl runp pod.json"
  pod=$(crictl runp "$work/pod.json"); echo "$pod"
  echo "+ crictl create $pod ctr.json pod.json"
  ctr=$(crictl create "$pod" "$work/ctr.json" "$work/pod.json"); echo "$ctr"
  showc start "$ctr"
  showc exec -s "$ctr" echo hi
  showc exec "$ctr" cat /etc/hostname
  showc pods
  showc ps
  echo "+ crictl inspectp $pod | grep -m1 -A3 '\"network\"'"
  crictl inspectp "$pod" | grep -m1 -A3 '"network"'
  showc stopp "$pod"
  showc rmp "$pod"
  showc pods
  crictl rmi "127.0.0.1:$regport/demo:1" >/dev/null
fi
show rmi "127.0.0.1:$regport/demo:1"
