#!/usr/bin/env bash
# Sourced, not run (by run.sh and bench/run.sh, after $E2E/env); the shebang tells shellcheck the dialect.
# Helpers for the end-to-end tests: run the bundled action as the runner does, read its outputs,
# run real foreign binaries, count results, and say what the action should report on this machine.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BM=/proc/sys/fs/binfmt_misc
RUNS=${RUNS:-$E2E/runs}
PASS=0 FAIL=0 FAILED_NAMES=()
# what Debian's busybox `uname -m` prints under QEMU for each foreign architecture
declare -A UNAME=([arm64]=aarch64 [armhf]=armv7l [s390x]=s390x [ppc64el]=ppc64le [mips64el]=mips64 [i386]=i686)
# a family member the host runs natively reports the kernel's machine instead (a 32-bit busybox on an
# x86_64 kernel prints x86_64); setup.sh recorded what it printed
if [ -n "${NATIVE_PROBE_DEB:-}" ] && [ -n "${NATIVE_PROBE_UNAME:-}" ]; then UNAME[$NATIVE_PROBE_DEB]=$NATIVE_PROBE_UNAME; fi

section() { printf '\n== %s\n' "$*"; }

# check DESCRIPTION COMMAND...: one assertion
check() {
  local desc=$1; shift
  if "$@" >/dev/null 2>&1; then PASS=$((PASS + 1)); printf '  ok   %s\n' "$desc"
  else FAIL=$((FAIL + 1)); FAILED_NAMES+=("$desc"); printf '  FAIL %s\n' "$desc"; fi
}

# act NAME [--no-post|--post-only] [input=value ...]: runs main (and post) in $RUNS/NAME; sets RC
act() {
  local name=$1; shift
  # a post-only run reads the state its main left there
  [ "${1:-}" = --post-only ] || { rm -rf "${RUNS:?}/$name"; mkdir -p "$RUNS/$name"; }
  node "$ROOT/scripts/runner.mjs" --quiet --dir "$RUNS/$name" "$@"
  RC=$?
}
# act_as USER NAME [input=value ...]: the same, as an unprivileged user (like GitHub's runner user)
act_as() {
  local user=$1 name=$2; shift 2
  rm -rf "${RUNS:?}/$name"; mkdir -p "$RUNS/$name"; chown "$user" "$RUNS/$name"
  runuser -u "$user" -- env RUNNER_TOOL_CACHE="$RUNS/$name/toolcache" "$(command -v node)" "$ROOT/scripts/runner.mjs" --quiet --dir "$RUNS/$name" "$@"
  RC=$?
}
out() { sed -n "s/^$2=//p" "$RUNS/$1/outputs"; }
logged() { grep -qF -- "$2" "$RUNS/$1/main.log"; }
post_logged() { grep -qF -- "$2" "$RUNS/$1/post.log"; }
eq() { [ "$1" = "$2" ] || { echo "expected [$2], got [$1]" >&2; return 1; }; }
rc_is() { [ "$RC" = "$1" ]; }

# a foreign Debian busybox on the host, and inside a container that has no emulator in it
host_runs() { [ "$("$E2E/foreign/$1/bin/busybox" uname -m)" = "${UNAME[$1]}" ]; }
# ... or runs at all, whatever it says it is
host_execs() { "$E2E/foreign/$1/bin/busybox" true; }
container_runs() {
  [ "$(docker run --rm --network none -v "$E2E/foreign/$1/bin:/foreign:ro" "$HELPER_IMAGE" /foreign/busybox uname -m)" = "${UNAME[$1]}" ]
}
not() { ! "$@"; }

# What the action should report here. NATIVE_PLATFORMS (from setup.sh, found by running a real binary)
# says which platforms this host runs natively; the action lists native platforms first, then the
# emulated ones, each in the order of its platform table.
TABLE=(linux/amd64 linux/386 linux/arm64 linux/arm/v7 linux/arm/v6 linux/riscv64 linux/ppc64le linux/s390x linux/mips64le linux/mips64 linux/loong64)
is_native() { [[ ",$NATIVE_PLATFORMS," == *",$1,"* ]]; }
# emulated_of PLATFORM...: the expected `emulated` output when these are asked for
emulated_of() {
  local p out=()
  for p in "${TABLE[@]}"; do
    if ! is_native "$p" && [[ " $* " == *" $p "* ]]; then out+=("$p"); fi
  done
  (IFS=,; echo "${out[*]}")
}
# platforms_of PLATFORM...: the expected `platforms` output: every native platform, then the emulated ones
platforms_of() { local e; e=$(emulated_of "$@"); echo "$NATIVE_PLATFORMS${e:+,$e}"; }
# cpu_of PLATFORM: QEMU's name, which is the binfmt_misc entry's name after qemu-
cpu_of() {
  case $1 in
    linux/amd64) echo x86_64 ;; linux/386) echo i386 ;; linux/arm64) echo aarch64 ;;
    linux/arm/v7 | linux/arm/v6) echo arm ;; linux/mips64le) echo mips64el ;; linux/loong64) echo loongarch64 ;;
    *) echo "${1#linux/}" ;;
  esac
}
# the binfmt_misc entries that must never exist here: one for each native platform's format
native_entries() { local p; for p in ${NATIVE_PLATFORMS//,/ }; do echo "qemu-$(cpu_of "$p")"; done | sort -u | paste -sd ' '; }
# no_entry_for ENTRY...: none of these is registered
no_entry_for() { local e; for e in "$@"; do [ ! -e "$BM/$e" ] || { echo "$e is registered" >&2; return 1; }; done; }
has_entry() { [ -e "$BM/$1" ]; }

entries() {
  local f
  for f in "$BM"/qemu-*; do [ -e "$f" ] && printf '%s ' "${f##*/}"; done
  return 0
}
snapshot() { for f in "$BM"/*; do [ "${f##*/}" = register ] || { echo "${f##*/}"; cat "$f"; }; done 2>/dev/null; }
clear_qemu() { for f in "$BM"/qemu-*; do [ -e "$f" ] && echo -1 >"$f"; done; return 0; }
mounted() { [ -e "$BM/register" ]; }
