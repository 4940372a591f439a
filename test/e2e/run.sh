#!/usr/bin/env bash
# End-to-end tests: the bundled dist/index.js run as the runner runs it, against the real Docker
# engine, a registry and an HTTP server on loopback, real QEMU and real Debian foreign binaries.
# Needs setup.sh first (the README's test command does both). Registers on the host: every qemu-*
# entry it adds is removed when it exits, and binfmt_misc is unmounted again if it was not mounted.
set -uo pipefail
E2E=${E2E:-/tmp/setup-qemu-e2e}
# shellcheck disable=SC1091
source "$E2E/env"
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# Every expectation about native and emulated platforms comes from NATIVE_PLATFORMS, which setup.sh
# found by running a real binary: some x86_64 CPUs run 32-bit x86 code, some do not.
: "${NATIVE_PLATFORMS:?$E2E/env does not say which platforms are native: run test/e2e/setup.sh again}"
echo "native here, as setup.sh found by running a real binary: $NATIVE_PLATFORMS"
SIBLING=$NATIVE_PROBE_DEB SIBLING_PLATFORM=${NATIVE_PROBE_PLATFORMS%%,*}

was_mounted=0
mounted && was_mounted=1
if [ -n "$(entries)" ]; then
  if [ "${CI:-}" = true ]; then
    echo "removing qemu-* entries an earlier run left on this CI machine: $(entries)"
    clear_qemu
  else
    echo "this host already has qemu-* binfmt_misc entries ($(entries)); the tests would change them. Remove them first." >&2
    exit 2
  fi
fi
cleanup_host() {
  clear_qemu
  if [ $was_mounted = 0 ] && mounted; then umount "$BM"; fi
}
trap cleanup_host EXIT
rm -rf "$RUNS"; mkdir -p "$RUNS"
export RUNNER_TOOL_CACHE=$RUNS/toolcache
IMG=(image="$BINFMT_IMAGE" helper-image="$HELPER_IMAGE")

# entries as a distro or another tool leaves them: register NAME MAGIC INTERPRETER FLAGS
ARM64='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
RISCV64='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00'
MASK='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
register() { printf '%s' ":$1:M::$2:$MASK:$3:$4" >"$BM/register"; }
# Debian's style: no F, an interpreter path no container has; and one of them switched off
stale_entries() {
  register qemu-aarch64 "$ARM64" /usr/libexec/qemu-binfmt/aarch64-binfmt-P P
  register qemu-riscv64 "$RISCV64" /usr/libexec/qemu-binfmt/riscv64-binfmt-P P
  echo 0 >"$BM/qemu-riscv64"
}

section "issue 2: arm64, arm and s390x from the image, on a host where binfmt_misc is not mounted"
clear_qemu; mounted && umount "$BM"
check "binfmt_misc is not mounted before the step" not mounted
check "no arm64 binary runs before the step" not host_runs arm64
if [ -n "$SIBLING" ]; then
  if is_native "$SIBLING_PLATFORM"; then
    check "Debian busybox-static:$SIBLING runs natively before the step, as setup.sh found" host_runs "$SIBLING"
  else
    check "Debian busybox-static:$SIBLING does not run before the step, as setup.sh found" not host_execs "$SIBLING"
  fi
fi
act main platforms=arm64,arm,s390x "${IMG[@]}"
check "main exits 0" rc_is 0
check "output platforms: native first, then emulated" eq "$(out main platforms)" "$(platforms_of linux/arm64 linux/arm/v7 linux/arm/v6 linux/s390x)"
check "output emulated" eq "$(out main emulated)" "$(emulated_of linux/arm64 linux/arm/v7 linux/arm/v6 linux/s390x)"
check "output failed is empty" eq "$(out main failed)" ""
check "output qemu-version from the emulators" eq "$(out main qemu-version)" "$(/usr/bin/qemu-aarch64-static --version | sed -n 's/.*version \([0-9][^ ]*\).*/\1/p')"
check "the action mounted binfmt_misc and it stays mounted" mounted
check "it logged the mount" logged main "mounted binfmt_misc"
check "entries are qemu-aarch64, qemu-arm, qemu-s390x only" eq "$(entries)" "qemu-aarch64 qemu-arm qemu-s390x "
check "entries carry the F flag" grep -q 'flags: POCF' "$BM/qemu-s390x"
check "least privilege was used (--cap-add SYS_ADMIN)" logged main "with --cap-add SYS_ADMIN"
for deb in arm64 armhf s390x; do
  check "Debian busybox-static:$deb runs on the host" host_runs "$deb"
  check "Debian busybox-static:$deb runs in a container" container_runs "$deb"
done
check "ppc64el was not asked for and does not run" not host_runs ppc64el
check "one log group per phase" eq "$(grep -c '^::group::' "$RUNS/main/main.log")" 6
check "job summary has the table" grep -q '<td>linux/s390x</td><td>emulated</td>' "$RUNS/main/summary"
check "post without cleanup leaves the entries" eq "$(entries)" "qemu-aarch64 qemu-arm qemu-s390x "

section "issue 2: BuildKit builds a FROM scratch image for linux/arm64 with a RUN step"
ctx=$(mktemp -d)
cp "$E2E/foreign/arm64/bin/busybox" "$ctx/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox uname -m > /built-on"]\n' >"$ctx/Dockerfile"
check "DOCKER_BUILDKIT=1 docker build --platform linux/arm64 succeeds" env DOCKER_BUILDKIT=1 /usr/bin/docker build --platform linux/arm64 -t setup-qemu-e2e-arm64 "$ctx"
check "the RUN step ran as aarch64" eq "$(docker run --rm --platform linux/arm64 setup-qemu-e2e-arm64 /bin/busybox cat /built-on 2>/dev/null)" aarch64
docker rmi -f setup-qemu-e2e-arm64 >/dev/null 2>&1; rm -rf "$ctx"

section "issue 2/4: the same step again changes nothing and reports the same (idempotence)"
before=$(snapshot)
act again platforms=arm64,arm,s390x "${IMG[@]}"
check "second run exits 0" rc_is 0
check "same platforms output" eq "$(out again platforms)" "$(out main platforms)"
check "nothing fetched, nothing registered" logged again "nothing to fetch"
check "no helper container ran" not logged again "registered through a helper container"
check "binfmt_misc is exactly as before" eq "$(snapshot)" "$before"

section "issue 2: all, and a native platform asked for"
clear_qemu
# every platform the test image has an emulator for (it has no qemu-x86_64)
IMAGE_HAS=(linux/386 linux/arm64 linux/arm/v7 linux/arm/v6 linux/riscv64 linux/ppc64le linux/s390x linux/mips64le linux/mips64 linux/loong64)
act all platforms=all "${IMG[@]}"
check "all exits 0" rc_is 0
check "all: every platform the image has, native ones first" eq "$(out all platforms)" "$(platforms_of "${IMAGE_HAS[@]}")"
check "all: every one the image has but the native ones is emulated" eq "$(out all emulated)" "$(emulated_of "${IMAGE_HAS[@]}")"
# shellcheck disable=SC2046 # one word an entry
check "no entry for a native format ($(native_entries))" no_entry_for $(native_entries)
all_debs=(ppc64el mips64el)
if [ -n "$SIBLING" ] && ! is_native "$SIBLING_PLATFORM"; then
  check "$SIBLING_PLATFORM is not native here: all registered qemu-$(cpu_of "$SIBLING_PLATFORM")" has_entry "qemu-$(cpu_of "$SIBLING_PLATFORM")"
  all_debs+=("$SIBLING")
fi
for deb in "${all_debs[@]}"; do
  check "Debian busybox-static:$deb runs on the host" host_runs "$deb"
  check "Debian busybox-static:$deb runs in a container" container_runs "$deb"
done
act native platforms=amd64,arm64 "${IMG[@]}"
check "asking for a native platform is not an error" rc_is 0
check "it says so in the log, with no annotation" logged native "linux/amd64 runs natively on this host: nothing to register for it"
check "and no notice" not logged native "::notice::"
check "and it is in the output, not registered" eq "$(out native platforms)" "$(platforms_of linux/amd64 linux/arm64)"
check "and only arm64 is emulated" eq "$(out native emulated)" "$(emulated_of linux/amd64 linux/arm64)"

section "issue 2: a platform the image lacks"
clear_qemu
act slim platforms=arm64,s390x image="$SLIM_IMAGE" helper-image="$HELPER_IMAGE"
check "the step fails" rc_is 1
check "one ::error:: for the missing platform, saying why" logged slim "::error title=QEMU s390x::linux/s390x: the source has no qemu-s390x"
check "arm64 is still set up and reported" eq "$(out slim emulated)" "$(emulated_of linux/arm64)"
check "failed names s390x" eq "$(out slim failed)" "linux/s390x"
check "arm64 runs in a container" container_runs arm64

section "issue 2: as an unprivileged user in the docker group, with sudo, like GitHub's runner user"
clear_qemu; umount "$BM"
act_as qemu-e2e user platforms=arm64,s390x "${IMG[@]}"
check "main exits 0" rc_is 0
check "it mounted binfmt_misc with sudo" logged user "mounted binfmt_misc (sudo -n mount -t binfmt_misc"
check "output emulated" eq "$(out user emulated)" "$(emulated_of linux/arm64 linux/s390x)"
check "arm64 runs on the host" host_runs arm64
check "s390x runs in a container" container_runs s390x
clear_qemu; umount "$BM"
act_as qemu-e2e-nosudo nosudo platforms=arm64 "${IMG[@]}"
check "without sudo on a host where binfmt_misc is not mounted: fails" rc_is 1
check "saying how to mount it" logged nosudo "Run \`sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc\` before this step"
check "nothing was registered" not mounted
mount -t binfmt_misc binfmt_misc "$BM"
act_as qemu-e2e-nosudo nosudo2 platforms=arm64 "${IMG[@]}"
check "without sudo on a host where it is mounted: works" rc_is 0
check "arm64 runs in a container" container_runs arm64

section "issue 2/4: bad inputs fail before anything changes"
clear_qemu
before=$(snapshot)
bad() {
  local name=$1 message=$2; shift 2
  act "$name" "$@"
  check "$name: fails" rc_is 1
  check "$name: says $message" logged "$name" "$message"
  check "$name: stopped at the inputs" not logged "$name" "::group::Host"
}
bad platform "unknown platform \"arm65\". Accepted: all," platforms=arm64,arm65 "${IMG[@]}"
bad shell-in-platforms 'unknown platform' 'platforms=arm64;touch /tmp/pwned' "${IMG[@]}"
bad long-platforms 'input platforms is longer than 2048 characters' "platforms=$(head -c 3000 /dev/zero | tr '\0' a)" "${IMG[@]}"
bad image 'input image is not an image reference' 'image=busybox;id' helper-image="$HELPER_IMAGE"
# shellcheck disable=SC2016 # the $(id) must reach the action unexpanded: it is the input under test
bad helper 'input helper-image is not an image reference' image="$BINFMT_IMAGE" 'helper-image=$(id)'
bad newline 'contains a control character or line break' "image=$BINFMT_IMAGE"$'\n'"--privileged" helper-image="$HELPER_IMAGE"
bad boolean 'input reset must be true or false, got "yes"' reset=yes "${IMG[@]}"
bad privileged 'input privileged must be one of auto, true, false' privileged=maybe "${IMG[@]}"
bad source 'input source must be one of image, download' source=ftp "${IMG[@]}"
bad url 'input download-url must be an http or https URL' source=download download-url=file:///etc/passwd download-sha256="$TARBALL_SHA256"
bad sha 'must be 64 hexadecimal digits' source=download download-url="$HTTP/x.tar.gz" download-sha256=xyz
bad timeout 'input timeout must be a whole number' timeout=-1 "${IMG[@]}"
check "no file was created by an input" not test -e /tmp/pwned
check "binfmt_misc is unchanged" eq "$(snapshot)" "$before"

section "issue 2/4: --privileged refused by this engine"
act privileged platforms=arm64 privileged=true "${IMG[@]}"
check "privileged: true fails" rc_is 1
check "saying the engine refused --privileged" logged privileged "refused the helper container the privilege it needs"
check "and naming what it tried" logged privileged "--privileged: "
check "nothing was registered" eq "$(entries)" ""
act least platforms=arm64 privileged=false "${IMG[@]}"
check "privileged: false (least privilege only) works" rc_is 0

section "issue 4: a stale Debian-style entry without F is replaced; cleanup puts it back byte for byte"
clear_qemu
stale_entries
stale=$(snapshot)
check "the stale entry works on the host only" host_runs arm64
check "and not in a container" not container_runs arm64
act stale platforms=arm64,riscv64,s390x cleanup=true "${IMG[@]}"
check "main exits 0" rc_is 0
check "it says why it replaced the entry" logged stale "replacing qemu-aarch64: it has no F flag"
check "it says why it replaced the disabled one" logged stale "replacing qemu-riscv64: it is disabled"
check "post removed what it added" post_logged stale "remove qemu-s390x: ok"
check "post restored what it replaced" post_logged stale "restore qemu-aarch64: ok"
check "binfmt_misc is byte for byte as before" eq "$(snapshot)" "$stale"
check "the post step succeeded" eq "$(cat "$RUNS/stale/post.rc")" 0

section "issue 4: a healthy F entry whose emulator the host can see is kept, and checked in an empty root"
clear_qemu
register qemu-aarch64 "$ARM64" /usr/bin/qemu-aarch64-static OCF
healthy=$(snapshot)
act healthy platforms=arm64 "${IMG[@]}"
check "it passes" rc_is 0
check "it keeps the entry, saying so" logged healthy "linux/arm64: keep (kept the healthy entry there (/usr/bin/qemu-aarch64-static))"
check "it ran the probe chrooted into an empty directory" logged healthy "host probe + probe chrooted into an empty directory"
check "the entry is untouched" eq "$(snapshot)" "$healthy"
act_as qemu-e2e healthy-sudo platforms=arm64 "${IMG[@]}"
check "as a user with sudo, the empty-root check runs through sudo" logged healthy-sudo "host probe + probe chrooted into an empty directory"
act_as qemu-e2e-nosudo healthy-nosudo platforms=arm64 "${IMG[@]}"
check "as a user without sudo it passes" rc_is 0
check "and says the F flag was all it could check" logged healthy-nosudo "F flag set (no chroot here to run it in an empty root)"
check "arm64 runs in a container" container_runs arm64

section "issue 4: reset removes other qemu-* entries; cleanup restores them"
clear_qemu
stale_entries
check "the stale entries are back as before" eq "$(snapshot)" "$stale"
act reset platforms=arm64 reset=true cleanup=true "${IMG[@]}" --no-post
check "reset run exits 0" rc_is 0
check "only the requested entry is left" eq "$(entries)" "qemu-aarch64 "
act reset --post-only platforms=arm64 reset=true cleanup=true "${IMG[@]}"
check "post put every removed entry back" eq "$(snapshot)" "$stale"
act post-warns platforms=arm64 cleanup=true "${IMG[@]}" --no-post
DOCKER_HOST=unix:///nonexistent/docker.sock act post-warns --post-only platforms=arm64 cleanup=true "${IMG[@]}"
check "a post step that cannot reach the engine does not fail the job" eq "$(cat "$RUNS/post-warns/post.rc")" 0
check "it warns instead" post_logged post-warns "::warning::cleanup did not finish: the Docker daemon is not reachable"
act reset-native platforms=amd64 reset=true "${IMG[@]}"
check "reset with nothing to register still removes the qemu-* entries" eq "$(entries)" ""
clear_qemu

section "issue 4: two runs at once with overlapping platforms"
# a fresh tool cache, so both fetch, cache and register at the same moment
( RUNNER_TOOL_CACHE=$RUNS/conc-cache act conc1 platforms=arm64,s390x,ppc64le "${IMG[@]}"; echo "$RC" >"$RUNS/conc1.rc" ) &
( RUNNER_TOOL_CACHE=$RUNS/conc-cache act conc2 platforms=s390x,ppc64le,mips64le "${IMG[@]}"; echo "$RC" >"$RUNS/conc2.rc" ) &
wait
check "first concurrent run passes" eq "$(cat "$RUNS/conc1.rc")" 0
check "second concurrent run passes" eq "$(cat "$RUNS/conc2.rc")" 0
check "the first reports its platforms emulated" eq "$(out conc1 emulated)" "$(emulated_of linux/arm64 linux/s390x linux/ppc64le)"
check "the second reports its platforms emulated" eq "$(out conc2 emulated)" "$(emulated_of linux/s390x linux/ppc64le linux/mips64le)"
for deb in arm64 s390x ppc64el mips64el; do check "$deb runs in a container after both" container_runs "$deb"; done

section "issue 4: engine trouble gives a message that says what to do"
clear_qemu
rm -rf "$RUNS/nodocker"
NODE=$(command -v node)
# a bare environment whose PATH has no docker; the runner itself is found by its absolute path
env -i PATH=/nonexistent HOME="$HOME" "$NODE" "$ROOT/scripts/runner.mjs" --quiet --no-post --dir "$RUNS/nodocker" \
  platforms=arm64 image="$BINFMT_IMAGE" helper-image="$HELPER_IMAGE"
RC=$?
check "no docker on PATH: fails" rc_is 1
check "no docker on PATH: says so" logged nodocker "docker is not on PATH. This action needs a Docker engine"
DOCKER_HOST=unix:///nonexistent/docker.sock act daemondown platforms=arm64 "${IMG[@]}"
check "daemon down: fails" rc_is 1
check "daemon down: says to start it" logged daemondown "the Docker daemon is not reachable"
timeout 120 bash -c "source '$E2E/env'; source '$ROOT/test/e2e/lib.sh'; act hang platforms=arm64 image='$HANG_REG/binfmt:test' helper-image='$HELPER_IMAGE' timeout=5; exit \$RC"
RC=$?
check "a pull that hangs: fails within its timeout" rc_is 1
check "a pull that hangs: says it did not finish" logged hang "did not finish within 5s"
check "an unpinned image is warned about" logged hang "::warning::image $HANG_REG/binfmt:test is not pinned by digest"
act refused platforms=arm64 image="$REG/nonexistent@sha256:$(printf '0%.0s' $(seq 64))" helper-image="$HELPER_IMAGE"
check "a pull the registry refuses: fails" rc_is 1
check "a pull the registry refuses: gives the registry's message" logged refused "manifest unknown"
act noshell platforms=arm64 image="$BINFMT_IMAGE" helper-image="$SLIM_IMAGE"
check "a helper without a shell: fails" rc_is 1
check "a helper without a shell: says so" logged noshell "has no POSIX shell"
act unpinned-helper platforms=arm64 image="$BINFMT_IMAGE" helper-image="$REG/busybox:test"
check "an unpinned helper works" rc_is 0
check "an unpinned helper is warned about" logged unpinned-helper "::warning::helper-image $REG/busybox:test is not pinned by digest"
clear_qemu
check "nothing registered by the failed runs" eq "$(entries)" ""

section "issue 3: source download from a loopback server, checked by SHA-256, cached"
clear_qemu
: >"$HTTP_LOG"
export RUNNER_TOOL_CACHE=$RUNS/dl-toolcache  # the download sections share one
DL=(source=download download-url="$HTTP/qemu_linux-{arch}.tar.gz" download-sha256="$TARBALL_SHA256" helper-image="$HELPER_IMAGE")
act dl platforms=arm64,arm,s390x "${DL[@]}"
check "download run exits 0" rc_is 0
check "output emulated" eq "$(out dl emulated)" "$(emulated_of linux/arm64 linux/arm/v7 linux/arm/v6 linux/s390x)"
check "it fetched the tarball once" eq "$(grep -c 'GET /qemu_linux-amd64.tar.gz' "$HTTP_LOG")" 1
check "it logged the checksum check" logged dl "matches"
cached() { local f; for f in "$RUNNER_TOOL_CACHE"/setup-qemu/*/x64/*qemu-*; do [ -e "$f" ] && printf '%s ' "${f##*/}"; done; }
check "only the requested emulators were extracted" eq "$(cached)" "qemu-aarch64 qemu-arm qemu-s390x "
for deb in arm64 armhf s390x; do check "$deb runs in a container" container_runs "$deb"; done
clear_qemu
act dl2 platforms=arm64,s390x "${DL[@]}"
check "second run exits 0" rc_is 0
check "second run fetched nothing" eq "$(grep -c 'GET ' "$HTTP_LOG")" 1
check "and said it used the tool cache" logged dl2 "emulators from tool cache"
check "arm64 runs in a container" container_runs arm64
clear_qemu
RUNNER_TOOL_CACHE=$RUNS/tampered-cache act dl-tampered platforms=arm64 source=download download-url="$HTTP/tampered/qemu_linux-{arch}.tar.gz" download-sha256="$TARBALL_SHA256" helper-image="$HELPER_IMAGE"
check "a tampered tarball fails the step" rc_is 1
check "with both checksums in the message" logged dl-tampered "checksum mismatch for $HTTP/tampered/qemu_linux-amd64.tar.gz: expected sha256 $TARBALL_SHA256, got $(sha256sum "$E2E/www/tampered/qemu_linux-amd64.tar.gz" | cut -d' ' -f1)"
check "nothing registered" eq "$(entries)" ""
check "nothing cached" not test -e "$RUNS/tampered-cache/setup-qemu"
RUNNER_TOOL_CACHE=$RUNS/404-cache act dl-404 platforms=arm64 source=download download-url="$HTTP/missing/qemu.tar.gz" download-sha256="$TARBALL_SHA256" helper-image="$HELPER_IMAGE"
check "a 404 fails" rc_is 1
check "saying HTTP 404" logged dl-404 "failed with HTTP 404"
timeout 120 bash -c "source '$E2E/env'; source '$ROOT/test/e2e/lib.sh'; RUNNER_TOOL_CACHE='$RUNS/hang-cache' act dl-hang platforms=arm64 source=download download-url='$HTTP/hang/qemu.tar.gz' download-sha256='$TARBALL_SHA256' timeout=5; exit \$RC"
RC=$?
check "a server that never answers fails within the timeout" rc_is 1
check "saying it did not finish" logged dl-hang "did not finish within 5s"
fetched=$(grep -c 'GET ' "$HTTP_LOG")
act dl-nosha platforms=arm64 source=download download-url="$HTTP/qemu_linux-{arch}.tar.gz"
check "a custom URL without a checksum is refused" rc_is 1
check "naming both ways out" logged dl-nosha "Give download-sha256 (sha256sum of the tarball), or use source: image"
check "nothing was fetched for it" eq "$(grep -c 'GET ' "$HTTP_LOG")" "$fetched"
check "nothing registered by the failed runs" eq "$(entries)" ""

printf '\n%d passed, %d failed\n' "$PASS" "$FAIL"
for n in "${FAILED_NAMES[@]}"; do printf '  failed: %s\n' "$n"; done
[ "$FAIL" = 0 ]
