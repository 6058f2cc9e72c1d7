#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: install what is needed, build the
# single executable, start the daemon on a temporary root (a unix socket, and mutual TLS on
# 127.0.0.1 with certificates made here), load the embedded sample image, run containers
# from it and from an external rootfs; build an OCI image from busybox-static with umoci, push
# it with skopeo to Debian's docker-registry on 127.0.0.1, pull it and run it, save and load
# it, export a container and import it; show their output, and clean up. Everything runs
# offline.
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
show rmi "127.0.0.1:$regport/demo:1"
