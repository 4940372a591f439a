#!/usr/bin/env bash
# Runs the bundled action the way the GitHub runner does: a fresh node process for main with INPUT_*
# variables and the runner's files, then (unless --no-post) the post step with STATE_* read back.
#
#   scripts/runner.sh [--dir DIR] [--no-post] [--post-only] [input=value ...]
#   e.g. scripts/runner.sh platforms=arm64,s390x image=127.0.0.1:5000/binfmt:test@sha256:...
#
# Needs root (or sudo) and a Docker engine. Prints the outputs; exits with main's exit code.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="" post=1 main=1
inputs=()
while [ $# -gt 0 ]; do
  case $1 in
    --dir) dir=$2; shift 2 ;;
    --no-post) post=0; shift ;;
    --post-only) main=0; shift ;;
    *=*) inputs+=("$1"); shift ;;
    *) echo "usage: $0 [--dir DIR] [--no-post] [--post-only] [input=value ...]" >&2; exit 2 ;;
  esac
done
dir=${dir:-$(mktemp -d)}
mkdir -p "$dir/temp" "${RUNNER_TOOL_CACHE:-$dir/toolcache}"
touch "$dir/output" "$dir/state" "$dir/summary"

runner_env=(
  GITHUB_OUTPUT="$dir/output" GITHUB_STATE="$dir/state" GITHUB_STEP_SUMMARY="$dir/summary"
  RUNNER_TEMP="$dir/temp" RUNNER_TOOL_CACHE="${RUNNER_TOOL_CACHE:-$dir/toolcache}" GITHUB_ACTIONS=true
)
for kv in "${inputs[@]}"; do
  name=${kv%%=*}
  # the runner's rule: upper case, spaces to _, hyphens kept
  runner_env+=("INPUT_$(printf '%s' "$name" | tr '[:lower:] ' '[:upper:]_')=${kv#*=}")
done

# reads NAME<<DELIM ... DELIM records (the runner's file format) as NAME=VALUE lines
read_records() {
  awk '/^[^<]+<<ghadelimiter_/ { split($0, a, "<<"); name=a[1]; delim=a[2]; val=""; inrec=1; first=1; next }
       inrec && $0 == delim { print name "=" val; inrec=0; next }
       inrec { val = first ? $0 : val "\n" $0; first=0 }' "$1"
}

rc=0
if [ $main = 1 ]; then
  env "${runner_env[@]}" node "$here/dist/index.js" >"$dir/main.log" 2>&1
  rc=$?
  echo "$rc" >"$dir/main.rc"
fi
if [ $post = 1 ]; then
  state_env=()
  while IFS= read -r line; do state_env+=("STATE_${line%%=*}=${line#*=}"); done < <(read_records "$dir/state")
  env "${runner_env[@]}" "${state_env[@]}" node "$here/dist/index.js" >"$dir/post.log" 2>&1
  echo $? >"$dir/post.rc"
fi
read_records "$dir/output" >"$dir/outputs"
if [ "${RUNNER_QUIET:-}" != 1 ]; then
  [ $main = 1 ] && cat "$dir/main.log"
  [ $post = 1 ] && cat "$dir/post.log"
  echo "--- outputs (main exit code $rc)"; cat "$dir/outputs"
fi
exit $rc
