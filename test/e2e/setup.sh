#!/usr/bin/env bash
# Installs and starts what the end-to-end tests and the benchmark need, from Debian's packages only:
# a Docker engine, a registry on 127.0.0.1, QEMU static binaries, real foreign busybox binaries, and
# the images the action is pointed at (a binfmt-like image, one with a broken emulator, and a busybox
# helper, pinned by digest), and a front to the registry that logs requests and fails them on demand.
# Finds out which platforms this host runs natively by running a real binary (see native_platforms).
# Idempotent; writes $E2E/env with what it made and found. Stop it with teardown.sh.
#
#   E2E_NATIVE_PROBE_BINARY=PATH  run PATH instead of Debian's busybox-static of the host's 32-bit
#       sibling (i386 on amd64, armhf on arm64) to decide whether that sibling is native. Point it at a
#       binary known not to run (e.g. an s390x one) to see the expectations of the other kind of machine;
#       the action still probes the real kernel, so on a host where the sibling does run, exactly the
#       assertions about native and emulated platforms then fail.
set -euo pipefail
E2E=${E2E:-/tmp/setup-qemu-e2e}
REGISTRY_PORT=${REGISTRY_PORT:-5000}
REG=127.0.0.1:$REGISTRY_PORT
HTTP_PORT=${HTTP_PORT:-8089}
HANG_PORT=${HANG_PORT:-8090}
FRONT_PORT=${FRONT_PORT:-5001}
# the registries of the fetch tests (start_fetch_registries)
BASIC_PORT=${BASIC_PORT:-5101}
TOKEN_PORT=${TOKEN_PORT:-5102}
TOKENS_PORT=${TOKENS_PORT:-5103}
HUB_PORT=${HUB_PORT:-5104}
PROXY_PORT=${PROXY_PORT:-5105}
MIRROR_PORT=${MIRROR_PORT:-5106}
BAD_MIRROR_PORT=${BAD_MIRROR_PORT:-5107}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$E2E"
chmod 755 "$E2E" # the unprivileged test users write their runs below it
log() { printf '[setup] %s\n' "$*" >&2; }

HOST_DEB=$(dpkg --print-architecture)
FOREIGN=()
for a in arm64 armhf s390x ppc64el mips64el i386; do [ "$a" = "$HOST_DEB" ] || FOREIGN+=("$a"); done

apt_update() {
  # a mirror mid-sync fails some foreign indexes now and then: retry, then go on with what loaded
  for _ in 1 2 3; do apt-get update -q >"$E2E/apt-update.log" 2>&1 && return 0; sleep 5; done
  log "apt-get update reported errors (see $E2E/apt-update.log); going on with the indexes it got"
}

install_packages() {
  local need=()
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v docker-registry >/dev/null || need+=(docker-registry)
  [ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
  [ -x /bin/busybox ] || need+=(busybox-static)
  command -v curl >/dev/null || need+=(curl)
  command -v openssl >/dev/null || need+=(openssl)
  command -v socat >/dev/null || need+=(socat)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v unshare >/dev/null || need+=(util-linux)
  command -v sudo >/dev/null || need+=(sudo)
  local have_foreign=1
  for a in "${FOREIGN[@]}"; do [ -x "$E2E/foreign/$a/bin/busybox" ] || have_foreign=0; done
  if [ ${#need[@]} -eq 0 ] && [ $have_foreign = 1 ]; then return 0; fi
  for a in "${FOREIGN[@]}"; do dpkg --add-architecture "$a"; done
  apt_update
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    for attempt in 1 2 3; do
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >"$E2E/apt-install.log" 2>&1 && break
      [ $attempt = 3 ] && { log "apt-get install failed:"; tail -20 "$E2E/apt-install.log" >&2; exit 1; }
      sleep $((attempt * 15)); apt_update
    done
  fi
  mkdir -p "$E2E/debs" "$E2E/foreign"
  for a in "${FOREIGN[@]}"; do
    [ -x "$E2E/foreign/$a/bin/busybox" ] && continue
    log "fetching busybox-static:$a"
    # an index that failed mid-sync leaves the package unknown for a while: update again and retry
    for attempt in 1 2 3 4; do
      (cd "$E2E/debs" && apt-get download "busybox-static:$a" >/dev/null 2>&1) && break
      [ $attempt = 4 ] && { log "could not fetch busybox-static:$a"; exit 1; }
      sleep $((attempt * 15)); apt_update
    done
    mkdir -p "$E2E/foreign/$a"
    dpkg-deb -x "$E2E/debs"/busybox-static_*_"$a".deb "$E2E/foreign/$a"
  done
}

# Which of the host's family it runs natively, found by running a real binary before anything is
# registered: Debian's busybox-static of the 32-bit sibling (i386 on amd64, armhf on arm64). CPUs of
# one kind of machine differ (some x86_64 ones do not run 32-bit code), so this is never assumed.
# It runs in a private binfmt_misc instance (a user namespace of its own), where no entry can claim
# the binary; where that cannot be mounted, directly, and only if the host has no binfmt_misc entry.
# Writes NATIVE_PLATFORMS as the action lists them in its platforms output (table order), and what
# the binary printed for `uname -m` when it ran (the kernel's name, not QEMU's).
native_platforms() {
  local own sibling="" sibling_platforms="" probe out rc=0
  case $HOST_DEB in
    amd64) own=linux/amd64 sibling=i386 sibling_platforms=linux/386 ;;
    arm64) own=linux/arm64 sibling=armhf sibling_platforms=linux/arm/v7,linux/arm/v6 ;;
    *) log "no 32-bit sibling to probe on $HOST_DEB"; own=linux/$HOST_DEB ;;
  esac
  NATIVE_PLATFORMS=$own NATIVE_PROBE_DEB=$sibling NATIVE_PROBE_PLATFORMS=$sibling_platforms NATIVE_PROBE_UNAME=""
  [ -n "$sibling" ] || return 0
  probe=${E2E_NATIVE_PROBE_BINARY:-$E2E/foreign/$sibling/bin/busybox}
  [ -f "$probe" ] || { log "the nativeness probe $probe does not exist"; exit 1; }
  # shellcheck disable=SC2016 # $0 is for the inner shell: the probe's path
  local private='mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && exec "$0" uname -m'
  if unshare --user --map-root-user --mount sh -c 'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc' 2>"$E2E/native-probe.log"; then
    out=$(unshare --user --map-root-user --mount sh -c "$private" "$probe" 2>>"$E2E/native-probe.log") || rc=$?
  else
    local e
    for e in /proc/sys/fs/binfmt_misc/*; do
      [ -e "$e" ] || continue
      case ${e##*/} in register | status) continue ;; esac
      log "cannot find out whether $sibling runs natively: no private binfmt_misc instance here ($(cat "$E2E/native-probe.log")), and the host's has entries (${e##*/}) that could run it"
      exit 1
    done
    out=$("$probe" uname -m 2>>"$E2E/native-probe.log") || rc=$?
  fi
  if [ $rc = 0 ] && [ -n "$out" ]; then
    NATIVE_PLATFORMS=$own,$sibling_platforms NATIVE_PROBE_UNAME=$out
    log "native: $NATIVE_PLATFORMS ($probe ran, uname -m: $out)"
  else
    local why; why=$(tr '\n' ' ' <"$E2E/native-probe.log")
    log "native: $NATIVE_PLATFORMS ($probe does not run here: exit code $rc${why:+, ${why% }})"
  fi
}
write_native() {
  sed -i '/^export NATIVE_/d' "$E2E/env"
  cat >>"$E2E/env" <<ENV
export NATIVE_PLATFORMS=$NATIVE_PLATFORMS
export NATIVE_PROBE_DEB=$NATIVE_PROBE_DEB
export NATIVE_PROBE_PLATFORMS=$NATIVE_PROBE_PLATFORMS
export NATIVE_PROBE_UNAME=$NATIVE_PROBE_UNAME
ENV
}

# Users like GitHub's runner: in the docker group, one with sudo without a password, one without
runner_users() {
  getent group docker >/dev/null || groupadd --system docker
  id qemu-e2e >/dev/null 2>&1 || useradd --create-home --groups docker qemu-e2e
  id qemu-e2e-nosudo >/dev/null 2>&1 || useradd --create-home --groups docker qemu-e2e-nosudo
  echo 'qemu-e2e ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/qemu-e2e
  chmod 0440 /etc/sudoers.d/qemu-e2e
}

start_dockerd() {
  if docker info >/dev/null 2>&1; then return 0; fi
  log "starting dockerd"
  (setsid dockerd >"$E2E/dockerd.log" 2>&1 & echo $! >"$E2E/dockerd.pid")
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  log "dockerd did not start:"; tail -20 "$E2E/dockerd.log" >&2; exit 1
}

start_registry() {
  if curl -fsS "http://$REG/v2/" >/dev/null 2>&1; then return 0; fi
  log "starting a registry on $REG"
  cat >"$E2E/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $E2E/registry-data
http:
  addr: $REG
YML
  (setsid docker-registry serve "$E2E/registry.yml" >"$E2E/registry.log" 2>&1 & echo $! >"$E2E/registry.pid")
  for _ in $(seq 30); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "registry did not start"; cat "$E2E/registry.log" >&2; exit 1
}

# push NAME ROOTFS [docker import -c ...]: imports a root filesystem as an image and pushes it,
# printing the pinned reference
push_rootfs() {
  local name=$1 rootfs=$2; shift 2
  # in name order, as BuildKit writes a layer
  tar -C "$rootfs" --sort=name -cf "$E2E/$name.tar" .
  docker import "$@" "$E2E/$name.tar" "$REG/$name:test" >/dev/null
  rm -f "$E2E/$name.tar"
  local digest
  digest=$(docker push "$REG/$name:test" | sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p')
  [ -n "$digest" ] || { log "push of $name failed"; exit 1; }
  echo "$REG/$name:test@$digest"
}

busybox_rootfs() {
  local dir=$1
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/etc"
  cp /bin/busybox "$dir/bin/busybox"
  # hard links, as `busybox --install` makes them in the official busybox image
  for applet in $("$dir/bin/busybox" --list); do [ "$applet" = busybox ] || ln -f "$dir/bin/busybox" "$dir/bin/$applet"; done
}

# binfmt-like, in upstream's shape: FROM scratch, /usr/bin/qemu-<cpu> (no suffix) in one layer, and
# /usr/bin/binfmt in a layer of its own above it; ENTRYPOINT and VOLUME as upstream. The emulators' layer
# also has busybox, for /usr/bin/binfmt, a stand-in installer so the reference flow (bench) can be replayed.
binfmt_rootfs() {
  local dir=$1
  mkdir -p "$dir/usr/bin"
  busybox_rootfs "$dir"
  for cpu in aarch64 arm riscv64 ppc64le s390x mips64el mips64 loongarch64 i386; do
    cp "/usr/bin/qemu-$cpu-static" "$dir/usr/bin/qemu-$cpu"
  done
}
BINFMT_CONFIG=(-c 'ENTRYPOINT ["/usr/bin/binfmt"]' -c 'VOLUME /tmp')

# push_binfmt ROOTFS: the emulators' layer as binfmt-base, the installer's layer over it as binfmt, pushed;
# prints the pinned reference
push_binfmt() {
  local base ctx=$1.installer
  base=$(push_rootfs binfmt-base "$1")
  mkdir -p "$ctx"
  cp "$here/binfmt-standin.sh" "$ctx/binfmt"
  chmod +x "$ctx/binfmt"
  printf 'FROM %s\nCOPY binfmt /usr/bin/binfmt\nENTRYPOINT ["/usr/bin/binfmt"]\nVOLUME /tmp\n' "$base" >"$ctx/Dockerfile"
  # the classic builder makes the image from the one the engine has (its deprecation notice goes to the log)
  DOCKER_BUILDKIT=0 docker build -q -t "$REG/binfmt:test" "$ctx" >"$E2E/binfmt-build.log" 2>&1 ||
    { log "build of binfmt failed"; cat "$E2E/binfmt-build.log" >&2; exit 1; }
  rm -rf "$ctx"
  local digest
  digest=$(docker push "$REG/binfmt:test" | sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p')
  [ -n "$digest" ] || { log "push of binfmt failed"; exit 1; }
  # the base's name goes, so removing binfmt removes the emulators' layer too, and a pull is a whole pull
  docker rmi "$REG/binfmt-base:test" >/dev/null
  echo "$REG/binfmt:test@$digest"
}

# Whether the registry has the manifest of a pinned reference (REG/NAME:TAG@DIGEST) or of a tag.
in_registry() {
  local ref=${1#"$REG"/} name tag
  name=${ref%%[:@]*}
  tag=${ref##*@}
  [ "$tag" != "$ref" ] || tag=${ref##*:}
  curl -fsS "http://$REG/v2/$name/manifests/$tag" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' >/dev/null 2>&1
}

build_images() {
  # an environment from before the image had upstream's two layers is built again
  if [ -f "$E2E/env" ] && in_registry "$REG/binfmt:test" && in_registry "$REG/binfmt-base:test"; then
    return 0
  fi
  log "building test images"
  local root="$E2E/rootfs"
  rm -rf "$root" && mkdir -p "$root"
  binfmt_rootfs "$root/binfmt"
  BINFMT_IMAGE=$(push_binfmt "$root/binfmt")
  # an image that lacks most emulators
  mkdir -p "$root/slim/usr/bin"
  cp /usr/bin/qemu-aarch64-static "$root/slim/usr/bin/qemu-aarch64"
  SLIM_IMAGE=$(push_rootfs binfmt-slim "$root/slim" -c 'ENTRYPOINT ["/usr/bin/binfmt"]')
  # the helper: a POSIX shell and mount
  busybox_rootfs "$root/helper"
  HELPER_IMAGE=$(push_rootfs busybox "$root/helper" -c 'CMD ["sh"]')
  # a tarball like the release ones: flat qemu-<cpu> entries, the -static names Debian uses
  mkdir -p "$E2E/www"
  tar -C /usr/bin -czf "$E2E/www/qemu_linux-amd64.tar.gz" \
    qemu-aarch64-static qemu-arm-static qemu-riscv64-static qemu-s390x-static qemu-ppc64le-static qemu-mips64el-static
  # the same name with other content: what a tampered mirror would serve
  mkdir -p "$E2E/www/tampered"
  tar -C /usr/bin -czf "$E2E/www/tampered/qemu_linux-amd64.tar.gz" qemu-aarch64-static qemu-arm-static
  rm -rf "$root"
  cat >"$E2E/env" <<ENV
export E2E=$E2E
export REG=$REG
export BINFMT_IMAGE=$BINFMT_IMAGE
export SLIM_IMAGE=$SLIM_IMAGE
export HELPER_IMAGE=$HELPER_IMAGE
export TARBALL=$E2E/www/qemu_linux-amd64.tar.gz
export TARBALL_SHA256=$(sha256sum "$E2E/www/qemu_linux-amd64.tar.gz" | cut -d' ' -f1)
export HTTP=http://127.0.0.1:$HTTP_PORT
export HTTP_LOG=$E2E/http.log
export HANG_REG=127.0.0.1:$HANG_PORT
ENV
}

# The binfmt image with one emulator broken: /usr/bin/qemu-riscv64 is Debian's busybox-static for this
# host, a real static program that runs and fails (as qemu-riscv64 it says "applet not found" and exits
# 127). Built on its own, so an environment made before it existed gains it without new digests for the
# others.
build_broken_image() {
  local have
  have=$(sed -n 's/^export BROKEN_RISCV64_IMAGE=//p' "$E2E/env")
  if [ -n "$have" ] && in_registry "$have"; then return 0; fi
  log "building the binfmt image with a broken qemu-riscv64"
  local root="$E2E/rootfs-broken"
  rm -rf "$root" && mkdir -p "$root"
  binfmt_rootfs "$root"
  cp /bin/busybox "$root/usr/bin/qemu-riscv64"
  cp "$here/binfmt-standin.sh" "$root/usr/bin/binfmt"
  chmod +x "$root/usr/bin/binfmt"
  BROKEN_RISCV64_IMAGE=$(push_rootfs binfmt-broken-riscv64 "$root" "${BINFMT_CONFIG[@]}")
  rm -rf "$root"
  sed -i '/^export BROKEN_RISCV64_IMAGE=/d' "$E2E/env"
  echo "export BROKEN_RISCV64_IMAGE=$BROKEN_RISCV64_IMAGE" >>"$E2E/env"
}

# A server of this environment's own on PORT: one of another environment there would log elsewhere, and
# every test that reads the log would see nothing.
port_free() {
  local name=$1 port=$2
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "port $port, for the $name server, is taken by another process (a test environment in another E2E"
    log "directory? stop it with E2E=<its directory> bash test/e2e/teardown.sh)"
    exit 1
  fi
}

start_http() {
  local name=$1 port=$2 dir=$3
  if [ -f "$E2E/$name.pid" ] && kill -0 "$(cat "$E2E/$name.pid")" 2>/dev/null; then return 0; fi
  port_free "$name" "$port"
  (setsid node "$here/http-server.mjs" "$port" "$dir" "$E2E/$name.log" >"$E2E/$name.out" 2>&1 & echo $! >"$E2E/$name.pid")
  for _ in $(seq 20); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.25; done
  log "$name server did not start"; exit 1
}

# A reverse proxy in front of the registry that logs every request and fails some on demand (see
# registry-front.mjs): what a test writes to $E2E/front-control/fail. Starts with no fault.
start_front() {
  mkdir -p "$E2E/front-control"
  rm -f "$E2E/front-control/fail"
  if [ -f "$E2E/front.pid" ] && kill -0 "$(cat "$E2E/front.pid")" 2>/dev/null; then return 0; fi
  port_free front "$FRONT_PORT"
  : >"$E2E/front.log"
  (setsid node "$here/registry-front.mjs" "$FRONT_PORT" "$REG" "$E2E/front.log" "$E2E/front-control" >"$E2E/front.out" 2>&1 & echo $! >"$E2E/front.pid")
  for _ in $(seq 20); do curl -fsS "http://127.0.0.1:$FRONT_PORT/v2/" >/dev/null 2>&1 && return 0; sleep 0.25; done
  log "registry front did not start:"; cat "$E2E/front.out" >&2; exit 1
}
write_front() {
  sed -i '/^export FRONT\(_LOG\|_CONTROL\)\?=/d' "$E2E/env"
  cat >>"$E2E/env" <<ENV
export FRONT=127.0.0.1:$FRONT_PORT
export FRONT_LOG=$E2E/front.log
export FRONT_CONTROL=$E2E/front-control
ENV
}

# serve_registry NAME PORT STORAGE [YAML]: docker-registry on 127.0.0.1:PORT over STORAGE, YAML (http's tls,
# an auth section) added to its config; one of this environment's own, like start_http's servers
serve_registry() {
  local name=$1 port=$2 storage=$3 extra=${4:-}
  if [ -f "$E2E/$name.pid" ] && kill -0 "$(cat "$E2E/$name.pid")" 2>/dev/null; then return 0; fi
  port_free "$name" "$port"
  {
    printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$storage"
    printf 'http:\n  addr: 127.0.0.1:%s\n  secret: setup-qemu-e2e-%s\n' "$port" "$name"
    [ -z "$extra" ] || printf '%s\n' "$extra"
  } >"$E2E/$name.yml"
  (setsid docker-registry serve "$E2E/$name.yml" >"$E2E/$name.log" 2>&1 & echo $! >"$E2E/$name.pid")
  for _ in $(seq 30); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.25; done
  log "the $name registry did not start:"; cat "$E2E/$name.log" >&2; exit 1
}

# start_node NAME PORT SCRIPT ARGS...: a node server of test/e2e on PORT, waited for
start_node() {
  local name=$1 port=$2 script=$3; shift 3
  if [ -f "$E2E/$name.pid" ] && kill -0 "$(cat "$E2E/$name.pid")" 2>/dev/null; then return 0; fi
  port_free "$name" "$port"
  (setsid node "$here/$script" "$port" "$@" >"$E2E/$name.out" 2>&1 & echo $! >"$E2E/$name.pid")
  for _ in $(seq 20); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.25; done
  log "$name did not start:"; cat "$E2E/$name.out" >&2; exit 1
}

# Keys and certificates, made once: a CA whose certificate the steps of the Docker Hub tests trust
# (NODE_EXTRA_CA_CERTS), Docker Hub's name signed by it, and the token server's signing key
make_pki() {
  local pki="$E2E/pki"
  [ -f "$pki/hub.pem" ] && [ -f "$pki/tokens.pem" ] && return 0
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj /CN=setup-qemu-e2e-ca
    openssl req -newkey rsa:2048 -nodes -keyout hub.key -out hub.csr -subj /CN=registry-1.docker.io
    printf 'subjectAltName=DNS:registry-1.docker.io\nextendedKeyUsage=serverAuth\n' >hub.ext
    openssl x509 -req -in hub.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out hub.pem -days 3650 -extfile hub.ext
    openssl req -x509 -newkey rsa:2048 -nodes -keyout tokens.key -out tokens.pem -days 3650 -subj /CN=setup-qemu-e2e-tokens
  ) >"$E2E/pki.log" 2>&1 || { log "openssl failed:"; cat "$E2E/pki.log" >&2; exit 1; }
}

# Registries for the fetch tests, beside the others on fixed ports, over the e2e registry's own storage: one
# that wants Basic auth (a user of its own, in htpasswd), one that wants bearer tokens (from token-server.mjs,
# which gives anyone a pull token, as Docker Hub's does), and a stand-in of Docker Hub: registry-1.docker.io
# over HTTPS, reached only through connect-proxy.mjs, which a step uses as HTTPS_PROXY with the CA in
# NODE_EXTRA_CA_CERTS (the engine is not affected). It serves the binfmt image as tonistiigi/binfmt, by the same
# digest; beside it are a mirror of it, and a mirror whose storage serves other bytes for that digest.
start_fetch_registries() {
  local data="$E2E/registry-data" digest=${BINFMT_IMAGE##*@}
  make_pki
  if [ ! -f "$E2E/htpasswd" ]; then
    node --input-type=module -e "import b from '$here/../../node_modules/bcryptjs/index.js'; process.stdout.write('e2e-builder:' + b.hashSync('e2e-password', 10) + '\\n')" >"$E2E/htpasswd"
  fi
  if ! in_registry "$REG/tonistiigi/binfmt:test@$digest"; then
    node "$here/copy-image.mjs" "$REG" binfmt "$digest" tonistiigi/binfmt test >/dev/null
  fi
  local bad="$E2E/registry-bad-mirror"
  if [ "$(cat "$bad.digest" 2>/dev/null)" != "$digest" ]; then
    rm -rf "$bad" && cp -a "$data" "$bad"
    # one hex digit of the first digest the manifest names: valid JSON, other bytes under the digest's name
    # shellcheck disable=SC2016 # node's script, with its own ${}
    node -e '
      const fs = require("fs"), hex = process.argv[2].slice(7)
      const f = `${process.argv[1]}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`
      const b = fs.readFileSync(f), at = b.indexOf("sha256:") + 7
      b[at] = b[at] === 0x30 ? 0x31 : 0x30
      fs.writeFileSync(f, b)' "$bad" "$digest"
    echo "$digest" >"$bad.digest"
  fi
  serve_registry basic "$BASIC_PORT" "$data" "auth:
  htpasswd:
    realm: setup-qemu-e2e
    path: $E2E/htpasswd"
  start_node tokens "$TOKENS_PORT" token-server.mjs "$E2E/pki/tokens.key" "$E2E/pki/tokens.pem" setup-qemu-e2e-tokens setup-qemu-e2e "$E2E/tokens.log"
  serve_registry token "$TOKEN_PORT" "$data" "auth:
  token:
    realm: http://127.0.0.1:$TOKENS_PORT/token
    service: setup-qemu-e2e
    issuer: setup-qemu-e2e-tokens
    rootcertbundle: $E2E/pki/tokens.pem"
  serve_registry hub "$HUB_PORT" "$data" "  tls:
    certificate: $E2E/pki/hub.pem
    key: $E2E/pki/hub.key"
  start_node proxy "$PROXY_PORT" connect-proxy.mjs "$E2E/proxy.log" "registry-1.docker.io:443=127.0.0.1:$HUB_PORT"
  serve_registry mirror "$MIRROR_PORT" "$data"
  serve_registry badmirror "$BAD_MIRROR_PORT" "$bad"
  curl -fsS --cacert "$E2E/pki/ca.pem" --proxy "http://127.0.0.1:$PROXY_PORT" https://registry-1.docker.io/v2/ >/dev/null ||
    { log "the Docker Hub stand-in does not answer through its proxy"; exit 1; }
}
write_fetch() {
  sed -i '/^export \(BASIC_\|TOKEN_REG\|TOKENS_LOG\|HUB_\|PROXY_LOG\|MIRROR\|BAD_MIRROR\)/d' "$E2E/env"
  cat >>"$E2E/env" <<ENV
export BASIC_REG=127.0.0.1:$BASIC_PORT
export BASIC_USER=e2e-builder
export BASIC_PASSWORD=e2e-password
export TOKEN_REG=127.0.0.1:$TOKEN_PORT
export TOKENS_LOG=$E2E/tokens.log
export HUB_IMAGE=docker.io/tonistiigi/binfmt:test@${BINFMT_IMAGE##*@}
export HUB_CA=$E2E/pki/ca.pem
export HUB_PROXY=http://127.0.0.1:$PROXY_PORT
export PROXY_LOG=$E2E/proxy.log
export MIRROR=127.0.0.1:$MIRROR_PORT
export BAD_MIRROR=127.0.0.1:$BAD_MIRROR_PORT
ENV
}

install_packages
native_platforms # before anything is registered
runner_users
start_dockerd
start_registry
build_images
build_broken_image
start_http http "$HTTP_PORT" "$E2E/www"
start_http hang "$HANG_PORT" -
start_front
BINFMT_IMAGE=$(sed -n 's/^export BINFMT_IMAGE=//p' "$E2E/env")
start_fetch_registries
write_native
write_front
write_fetch
log "ready: $(tr '\n' ' ' <"$E2E/env")"
