# Helpers for the end-to-end tests: run the bundled action as the runner does, read its outputs,
# run real foreign binaries, count results. Sourced by run.sh.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BM=/proc/sys/fs/binfmt_misc
RUNS=${RUNS:-$E2E/runs}
PASS=0 FAIL=0 FAILED_NAMES=()
declare -A UNAME=([arm64]=aarch64 [armhf]=armv7l [s390x]=s390x [ppc64el]=ppc64le [mips64el]=mips64)

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
  [ "${1:-}" = --post-only ] || { rm -rf "$RUNS/$name"; mkdir -p "$RUNS/$name"; }
  RUNNER_QUIET=1 "$ROOT/scripts/runner.sh" --dir "$RUNS/$name" "$@"
  RC=$?
}
# act_as USER NAME [input=value ...]: the same, as an unprivileged user (like GitHub's runner user)
act_as() {
  local user=$1 name=$2; shift 2
  rm -rf "$RUNS/$name"; mkdir -p "$RUNS/$name"; chown "$user" "$RUNS/$name"
  runuser -u "$user" -- env RUNNER_QUIET=1 RUNNER_TOOL_CACHE="$RUNS/$name/toolcache" "$ROOT/scripts/runner.sh" --dir "$RUNS/$name" "$@"
  RC=$?
}
out() { sed -n "s/^$2=//p" "$RUNS/$1/outputs"; }
logged() { grep -qF -- "$2" "$RUNS/$1/main.log"; }
post_logged() { grep -qF -- "$2" "$RUNS/$1/post.log"; }
eq() { [ "$1" = "$2" ] || { echo "expected [$2], got [$1]" >&2; return 1; }; }
rc_is() { [ "$RC" = "$1" ]; }

# a foreign Debian busybox on the host, and inside a container that has no emulator in it
host_runs() { [ "$("$E2E/foreign/$1/bin/busybox" uname -m)" = "${UNAME[$1]}" ]; }
container_runs() {
  [ "$(docker run --rm --network none -v "$E2E/foreign/$1/bin:/foreign:ro" "$HELPER_IMAGE" /foreign/busybox uname -m)" = "${UNAME[$1]}" ]
}
not() { ! "$@"; }

entries() { ls "$BM" 2>/dev/null | grep '^qemu-' | sort | tr '\n' ' '; }
snapshot() { for f in "$BM"/*; do [ "${f##*/}" = register ] || { echo "${f##*/}"; cat "$f"; }; done 2>/dev/null; }
clear_qemu() { for f in "$BM"/qemu-*; do [ -e "$f" ] && echo -1 >"$f"; done; return 0; }
mounted() { [ -e "$BM/register" ]; }
