#!/usr/bin/env bash
# A second engine for the end-to-end tier: Debian 13's Docker (26.x) with the containerd image store,
# in a sidecar container on the host engine with the privileges dind needs, as ARC's dind mode runs it.
#
#   dind.sh start   builds the sidecar's image from Debian's packages if the host engine lacks it (kept
#                   between runs), starts the sidecar and its relays, and writes $E2E/dind/env
#   dind.sh stop    stops what start started
#
# What the sidecar shares with this machine:
# - the kernel, so one binfmt_misc table for both engines;
# - /tmp, /dev/shm and $E2E at their own paths, as a local engine sees the runner's files;
# - its socket, $E2E/dind/docker.sock, owned by the host's docker group; and over TCP on 127.0.0.1
#   through a relay ($DIND_TCP in the env file);
# - no network namespace: it has its own (--network none, never the host's, whose docker0 the nested
#   dockerd would take over). The loopback registry and the other servers the engine pulls from are
#   relayed through unix sockets in $E2E/dind, so the same 127.0.0.1:PORT names work on both engines.
set -euo pipefail
E2E=${E2E:-/tmp/setup-qemu-e2e}
SHARE=$E2E/dind
NAME=setup-qemu-e2e-dind
# the image is rebuilt when this recipe changes: its tag is the recipe's own hash
RECIPE=$(sed -n '/^# recipe:begin/,/^# recipe:end/p' "$0" | sha256sum | cut -c1-12)
IMAGE=setup-qemu-e2e/dind:trixie-$RECIPE
# what the engine may pull from (setup.sh's servers): the registry, the front that fails on demand, the
# one that hangs, and the registries behind Basic and bearer auth (with its token server) and the mirrors
RELAY_PORTS=${DIND_RELAY_PORTS:-"${REGISTRY_PORT:-5000} ${FRONT_PORT:-5001} ${HANG_PORT:-8090} ${BASIC_PORT:-5101} \
${TOKEN_PORT:-5102} ${TOKENS_PORT:-5103} ${MIRROR_PORT:-5106} ${BAD_MIRROR_PORT:-5107}"}
TCP_PORT=${DIND_TCP_PORT:-2377}
log() { printf '[dind] %s\n' "$*" >&2; }

# The host's Debian mirror, as its apt sources name it: trixie is taken from the same one.
debian_mirror() {
  local uri
  uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1)
  [ -n "$uri" ] || uri=$(sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\) [a-z]*[ -].*/\2/p' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n 1)
  [ -n "$uri" ] || { log "no Debian mirror in this machine's apt sources"; exit 1; }
  echo "$uri"
}

# recipe:begin (any change here builds a new image)
build_image() {
  local root
  root=$(mktemp -d "${TMPDIR:-/var/tmp}/setup-qemu-dind.XXXXXX")
  log "building $IMAGE from Debian 13's packages (about a minute)"
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null 2>&1
  if ! debootstrap --variant=minbase --include=docker.io,containerd,runc,iptables,ca-certificates,socat \
    trixie "$root" "$(debian_mirror)" >"$E2E/dind-debootstrap.log" 2>&1; then
    log "debootstrap failed:"; tail -20 "$E2E/dind-debootstrap.log" >&2; rm -rf "$root"; exit 1
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import - "$IMAGE" >/dev/null
  rm -rf "$root"
}
# recipe:end

# --cap-add ALL less what the host engine itself lacks: this machine's bounding set has no
# CAP_SYS_RESOURCE, and a container asking for it cannot start (so --privileged cannot either)
cap_drops() {
  local names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
    NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT
    SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
    AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
    PERFMON BPF CHECKPOINT_RESTORE)
  local pid bnd i
  pid=$(pgrep -o -x dockerd) || { log "no dockerd runs on this machine"; exit 1; }
  bnd=$((16#$(awk '/^CapBnd:/ { print $2 }' "/proc/$pid/status")))
  for i in "${!names[@]}"; do (((bnd >> i) & 1)) || printf -- '--cap-drop=%s\n' "${names[$i]}"; done
}

# The sidecar's init: what --privileged would have given (/sys and the cgroup mounts writable), the
# relays to this machine's servers, then dockerd with the containerd image store.
write_init() {
  cat >"$SHARE/init" <<'SH'
#!/bin/sh
set -eu
mount -o remount,rw /sys
for m in $(awk '$9 ~ /^cgroup/ { print $5 }' /proc/self/mountinfo); do mount -o remount,bind,rw "$m"; done
for port in $RELAY_PORTS; do
  socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$SHARE/relay-$port.sock" &
done
mkdir -p /etc/docker
printf '{"features": {"containerd-snapshotter": true}}\n' >/etc/docker/daemon.json
rm -f "$SHARE/docker.sock"
exec dockerd --host "unix://$SHARE/docker.sock" --group "$SOCKET_GID"
SH
}

running() { [ "$(docker inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ]; }

start_relays() {
  local port
  for port in $RELAY_PORTS; do
    [ -f "$SHARE/relay-$port.pid" ] && kill -0 "$(cat "$SHARE/relay-$port.pid")" 2>/dev/null && continue
    (setsid socat "UNIX-LISTEN:$SHARE/relay-$port.sock,fork,unlink-early,mode=600" "TCP:127.0.0.1:$port" \
      >>"$SHARE/relay.log" 2>&1 & echo $! >"$SHARE/relay-$port.pid")
  done
  [ -f "$SHARE/tcp.pid" ] && kill -0 "$(cat "$SHARE/tcp.pid")" 2>/dev/null && return 0
  (setsid socat "TCP-LISTEN:$TCP_PORT,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$SHARE/docker.sock" \
    >>"$SHARE/relay.log" 2>&1 & echo $! >"$SHARE/tcp.pid")
}

start() {
  command -v socat >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q socat >/dev/null 2>&1
  mkdir -p "$SHARE"
  chmod 755 "$SHARE"
  docker image inspect "$IMAGE" >/dev/null 2>&1 || build_image
  start_relays
  write_init
  if ! running; then
    docker rm -f -v "$NAME" >/dev/null 2>&1 || true
    local shared=(-v /tmp:/tmp -v /dev/shm:/dev/shm)
    case $E2E in /tmp/* | /dev/shm/*) ;; *) shared+=(-v "$E2E:$E2E") ;; esac
    local drops
    mapfile -t drops < <(cap_drops)
    log "starting the sidecar ($IMAGE)"
    docker run -d --name "$NAME" --network none --cap-add ALL "${drops[@]}" \
      --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
      --device-cgroup-rule 'a *:* rwm' \
      -v /var/lib/docker -v /var/lib/containerd "${shared[@]}" \
      -e "SHARE=$SHARE" -e "RELAY_PORTS=$RELAY_PORTS" -e "SOCKET_GID=$(getent group docker | cut -d: -f3)" \
      --entrypoint /bin/sh "$IMAGE" "$SHARE/init" >/dev/null
  fi
  local sock=unix://$SHARE/docker.sock
  for _ in $(seq 60); do docker --host "$sock" info >/dev/null 2>&1 && break; sleep 0.5; done
  if ! docker --host "$sock" info >/dev/null 2>&1; then
    log "the sidecar's engine did not answer:"; docker logs --tail 30 "$NAME" >&2 || true; exit 1
  fi
  cat >"$SHARE/env" <<ENV
export DIND_SOCKET=$SHARE/docker.sock
export DIND_TCP=tcp://127.0.0.1:$TCP_PORT
export DIND_VERSION=$(docker --host "$sock" version --format '{{.Server.Version}}')
export DIND_STORAGE=$(docker --host "$sock" info --format '{{.Driver}}')
export DIND_IMAGE_STORE=$(docker --host "$sock" info --format '{{range .DriverStatus}}{{if eq (index . 0) "driver-type"}}{{index . 1}}{{end}}{{end}}')
ENV
  log "ready: $(tr '\n' ' ' <"$SHARE/env")"
}

stop() {
  docker rm -f -v "$NAME" >/dev/null 2>&1 || true
  local f
  for f in "$SHARE"/relay-*.pid "$SHARE/tcp.pid"; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  rm -f "$SHARE"/*.sock
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: dind.sh start|stop" >&2; exit 2 ;;
esac
