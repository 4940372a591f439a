#!/usr/bin/env bash
# npm run bench: time to ready, for the bundled action and for the reference flow (the engine calls
# docker/setup-qemu-action v4 makes), in alternation on this machine, in three states:
#   cold    nothing cached (tool cache empty, images not in the engine), nothing registered
#   cached  emulators in the tool cache and images in the engine, nothing registered
#   ready   the same emulators already registered and healthy (a second step, a self-hosted runner)
#   hosted  a hosted runner's next job: tool cache empty, images not in the engine, nothing registered,
#           the Actions cache warm (a loopback stand-in of the cache service); the reference flow pulls
# for platforms arm64 and all. As root beside the engine, the action registers from the runner itself. Rows
# for a runner without Docker (cold, cached, ready; arm64): the e2e user with passwordless sudo, no docker
# group and no docker CLI on PATH, emulators from the release tarball; reported beside the reference flow.
# Prints medians and ratios, and writes bench/results.json (the previous one is compared against). Then the
# cached, ready and container-job rows again on the second engine, Debian
# 13's Docker with the containerd image store in a sidecar (test/e2e/dind.sh), into
# bench/results-dind.json. Uses the end-to-end environment (test/e2e/setup.sh); registers on the host
# and removes what it registered when it ends. The bundle runs on the Node action.yml names.
#   BENCH_RUNS=N       runs of each (7)
#   BENCH_ENGINE=dind  only the second engine's cached and ready rows, and its container-job rows (the
#                      script runs itself so, on that engine)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export E2E=${E2E:-/tmp/setup-qemu-e2e}
[ -f "$E2E/env" ] || bash test/e2e/setup.sh || exit 1
bash test/e2e/setup.sh >/dev/null 2>&1 # make sure the services run
# shellcheck disable=SC1091
source "$E2E/env"
BM=/proc/sys/fs/binfmt_misc
mounted() { [ -e "$BM/register" ]; }
# the qemu-* entries, one word each
entries() {
  local f
  for f in "$BM"/qemu-*; do [ -e "$f" ] && printf '%s ' "${f##*/}"; done
  return 0
}
clear_qemu() {
  local f
  for f in "$BM"/qemu-*; do [ -e "$f" ] && echo -1 >"$f"; done
  return 0
}
[ -f dist/index.js ] || npm run -s bundle
N=${BENCH_RUNS:-7}
ENGINE=${BENCH_ENGINE:-host}
if [ "$ENGINE" = dind ]; then STATES=(cached ready); OUT=bench/results-dind.json; else STATES=(cold cached ready hosted); OUT=bench/results.json; fi
WORK=$(mktemp -d)
TC=$WORK/toolcache
was_mounted=0; mounted && was_mounted=1
if [ -n "$(entries)" ]; then echo "this host has qemu-* entries ($(entries)); the benchmark would change them" >&2; exit 2; fi
CACHE_PID=
trap 'clear_qemu; [ $was_mounted = 0 ] && mounted && umount "$BM"; [ -n "$CACHE_PID" ] && kill "$CACHE_PID"; rm -rf "$WORK"' EXIT

# the Actions cache service, as on a hosted runner: a loopback stand-in the real client talks to
node test/e2e/cache-service.mjs 0 "$WORK/cache-data" "$WORK/cache.log" >"$WORK/cache.out" 2>&1 &
CACHE_PID=$!
for _ in $(seq 40); do grep -q '^listening' "$WORK/cache.out" 2>/dev/null && break; sleep 0.25; done
CACHE_PORT=$(sed -n 's/^listening //p' "$WORK/cache.out")
[ -n "$CACHE_PORT" ] || { echo "the cache service did not start" >&2; exit 1; }
HOSTED=(RUNNER_ENVIRONMENT=github-hosted ACTIONS_CACHE_SERVICE_V2=true "ACTIONS_RESULTS_URL=http://127.0.0.1:$CACHE_PORT/"
  ACTIONS_RUNTIME_TOKEN=bench GITHUB_SERVER_URL=https://github.com)

now() { date +%s%N; }
# the images' ids, which name their content: a copy under another name goes too
docker pull -q "$BINFMT_IMAGE" >/dev/null && docker pull -q "$HELPER_IMAGE" >/dev/null || exit 1
IMAGE_IDS=$(docker image inspect --format '{{.Id}}' "$BINFMT_IMAGE" "$HELPER_IMAGE") || exit 1
# the images gone under every name (tests tag them through other registries too), so a pull is a pull
forget_images() {
  local id
  # shellcheck disable=SC2086
  for id in $IMAGE_IDS; do docker rmi -f "$id" >/dev/null 2>&1; done
  docker rmi -f "$BINFMT_IMAGE" "$HELPER_IMAGE" "$REG/binfmt:test" "$REG/busybox:test" >/dev/null 2>&1 || true
}

# ours PLATFORMS [hosted [post]]: the bundled action, a fresh node process with the runner's variables
# (a hosted runner's, with the Actions cache, when asked); prints main's ms
ours() {
  local d=$WORK/run vars=() post=--no-post
  rm -rf "$d"
  [ "${2:-}" = hosted ] && vars=("${HOSTED[@]}")
  [ "${3:-}" = post ] && post=
  # the runner's own protocol, from the one implementation of it; main's time is measured around its process
  env "${vars[@]}" RUNNER_TOOL_CACHE="$TC" node scripts/runner.mjs --quiet $post --dir "$d" \
    platforms="$1" image="$BINFMT_IMAGE" helper-image="$HELPER_IMAGE" || { echo "the action failed:" >&2; cat "$d/main.log" >&2; exit 1; }
  cat "$d/main.ms"
}
# cjob: the same as a container job sees the machine (test/e2e/container-job.sh: its own mount namespace,
# a private /tmp, no binfmt_misc, a docker-group user without sudo), so through the engine; its tool cache
# is kept in the run's directory, the one place the job keeps between runs
CJ=$WORK/cjob
cjob() {
  local d=$CJ/run
  mkdir -p "$d/temp" "$d/toolcache"
  # the runner's files, the user's before the step starts (the runner truncates them, keeping their owner)
  rm -f "$d"/main.*
  : >"$d/output"; : >"$d/state"; : >"$d/summary"
  chmod 777 "$CJ" "$d" && chown -R qemu-e2e-nosudo "$d"
  node bench/container-job.mjs "$d" qemu-e2e-nosudo platforms="$1" image="$BINFMT_IMAGE" helper-image="$HELPER_IMAGE" ||
    { echo "the action failed as a container job:" >&2; cat "$d/main.log" >&2; exit 1; }
}
# nodocker PLATFORMS: as a GitHub-hosted runner's user on a machine without Docker (see above); prints
# main's ms. Its files are under $E2E, which that user may enter.
ND=$E2E/bench-nodocker
NDBIN=$E2E/bench-bin-without-docker
NODE=$(command -v node)
without_docker() {
  local dir f
  rm -rf "$NDBIN" && mkdir -p "$NDBIN"
  for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    [ -d "$dir" ] || continue
    for f in "$dir"/*; do
      case ${f##*/} in docker*) continue ;; esac
      [ -e "$NDBIN/${f##*/}" ] || ln -s "$f" "$NDBIN/${f##*/}"
    done
  done
}
nodocker() {
  local d=$ND/run
  rm -rf "$d" && mkdir -p "$d" "$ND/toolcache" && chown -R qemu-e2e "$ND"
  setpriv --reuid "$(id -u qemu-e2e)" --regid "$(id -g qemu-e2e)" --clear-groups -- \
    env -i PATH="$NDBIN" HOME=/home/qemu-e2e RUNNER_TOOL_CACHE="$ND/toolcache" \
    "$NODE" scripts/runner.mjs --quiet --no-post --dir "$d" platforms="$1" source=download \
    download-url="$HTTP/qemu_linux-{arch}.tar.gz" download-sha256="$TARBALL_SHA256" ||
    { echo "the action failed as a runner without Docker:" >&2; cat "$d/main.log" >&2; exit 1; }
  cat "$d/main.ms"
}
reference() {
  local s e
  s=$(now)
  node bench/reference.mjs "$BINFMT_IMAGE" "$1" >/dev/null 2>"$WORK/ref.err" || { cat "$WORK/ref.err" >&2; exit 1; }
  e=$(now); echo $(((e - s) / 1000000))
}
pull_only() {
  local s e
  forget_images; s=$(now); docker pull -q "$BINFMT_IMAGE" >/dev/null; e=$(now); echo $(((e - s) / 1000000))
}

# prepare STATE WHO PLATFORMS: put the machine in that state for that flow
prepare() {
  clear_qemu
  case $1 in
    cold) rm -rf "$TC"; forget_images ;;
    cached) [ -d "$TC/setup-qemu" ] || ours "$3" >/dev/null; clear_qemu ;;
    ready) if [ "$2" = ours ]; then ours "$3" >/dev/null; else reference "$3" >/dev/null; fi ;;
    hosted)
      # a first hosted job for these platforms fills the Actions cache (its post step saves); later ones
      # find it warm
      if [ "$2" = ours ] && [ ! -e "$WORK/primed-$3" ]; then
        rm -rf "$TC"; forget_images; ours "$3" hosted post >/dev/null; clear_qemu; touch "$WORK/primed-$3"
      fi
      rm -rf "$TC"; forget_images ;;
  esac
}

# the reference flow's entries last only where the host has binfmt_misc mounted (GitHub's runners do);
# the action mounts it itself
mounted || mount -t binfmt_misc binfmt_misc "$BM"
# like for like: both flows must leave the same entries for the same request
for plat in arm64 all; do
  clear_qemu; reference "$plat" >/dev/null; theirs=$(entries)
  clear_qemu; ours "$plat" >/dev/null; mine=$(entries)
  if [ "$theirs" != "$mine" ]; then
    echo "for $plat the reference flow registers [$theirs] and this action [$mine]: not a like-for-like comparison" >&2
    exit 1
  fi
  echo "$plat: both register $mine" >&2
done

[ "$ENGINE" = host ] && without_docker
declare -A T
for _ in $(seq "$N"); do
  for plat in arm64 all; do
    for state in "${STATES[@]}"; do
      prepare "$state" ours "$plat"; T[ours,$plat,$state]+=" $(ours "$plat" "$([ "$state" = hosted ] && echo hosted)")"
      prepare "$state" reference "$plat"; T[ref,$plat,$state]+=" $(reference "$plat")"
    done
  done
  for state in cached ready; do
    clear_qemu
    [ "$state" = ready ] || [ -d "$CJ/run/toolcache/setup-qemu" ] || cjob arm64 >/dev/null
    [ "$state" = ready ] && cjob arm64 >/dev/null
    T[cjob,arm64,$state]+=" $(cjob arm64)"
  done
  if [ "$ENGINE" = host ]; then
    for state in cold cached ready; do
      clear_qemu
      case $state in
        cold) rm -rf "$ND/toolcache" ;;
        cached) [ -d "$ND/toolcache/setup-qemu" ] || nodocker arm64 >/dev/null; clear_qemu ;;
        ready) nodocker arm64 >/dev/null ;;
      esac
      T[nodocker,arm64,$state]+=" $(nodocker arm64)"
    done
  fi
  T[pull]+=" $(pull_only)"
  printf '.' >&2
done
echo >&2

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
prev=$OUT
pull=$(median "${T[pull]}")
{
  echo "{"
  echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"machine\": \"$(uname -sr) $(uname -m), $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)\","
  echo "  \"docker\": \"$(docker version --format '{{.Server.Version}}') ($(docker info --format '{{.Driver}}'))\","
  echo "  \"node\": \"$(node --input-type=module -e "import { actionNode } from './scripts/runner.mjs'; console.log(actionNode().version)")\","
  echo "  \"runs\": $N,"
  echo "  \"pull_ms\": $pull,"
  echo "  \"results\": ["
  sep=""
  for plat in arm64 all; do
    for state in "${STATES[@]}"; do
      o=$(median "${T[ours,$plat,$state]}"); r=$(median "${T[ref,$plat,$state]}")
      # as prettier writes it (the file is in its check): spaces inside braces, no trailing zeros
      printf '%s    { "platforms": "%s", "state": "%s", "ours_ms": %d, "reference_ms": %d, "ratio": %s }' \
        "$sep" "$plat" "$state" "$o" "$r" "$(awk -v o="$o" -v r="$r" 'BEGIN {x = sprintf("%.3f", o / r); sub(/0+$/, "", x); sub(/\.$/, "", x); print x}')"
      sep=$',\n'
    done
  done
  # as a container job: reported beside the same reference flow, which makes the same calls there
  for state in cached ready; do
    o=$(median "${T[cjob,arm64,$state]}"); r=$(median "${T[ref,arm64,$state]}")
    printf '%s    { "platforms": "arm64", "state": "%s", "runner": "container job", "ours_ms": %d, "reference_ms": %d, "ratio": %s }' \
      "$sep" "$state" "$o" "$r" "$(awk -v o="$o" -v r="$r" 'BEGIN {x = sprintf("%.3f", o / r); sub(/0+$/, "", x); sub(/\.$/, "", x); print x}')"
  done
  # a runner without Docker: beside the reference flow, which needs an engine there
  if [ "$ENGINE" = host ]; then
    for state in cold cached ready; do
      o=$(median "${T[nodocker,arm64,$state]}"); r=$(median "${T[ref,arm64,$state]}")
      printf '%s    { "platforms": "arm64", "state": "%s", "runner": "no docker", "ours_ms": %d, "reference_ms": %d, "ratio": %s }' \
        "$sep" "$state" "$o" "$r" "$(awk -v o="$o" -v r="$r" 'BEGIN {x = sprintf("%.3f", o / r); sub(/0+$/, "", x); sub(/\.$/, "", x); print x}')"
    done
  fi
  printf '\n  ]\n}\n'
} >"$WORK/results.json"

node - "$WORK/results.json" "$prev" <<'JS'
const fs = require('fs')
const [now, prevFile] = process.argv.slice(2)
const cur = JSON.parse(fs.readFileSync(now, 'utf8'))
const prev = fs.existsSync(prevFile) ? JSON.parse(fs.readFileSync(prevFile, 'utf8')) : undefined
// the goals, as ratios to the reference flow: the pinned fetch's (cold, hosted) and registering from the runner's
const goals = {
  cold: [[0.7, 'pinned fetch']],
  cached: [[0.2, 'from the runner']],
  ready: [[0.12, 'from the runner']],
  hosted: [[0.4, 'pinned fetch'], [0.2, 'from the runner']]
}
console.log(`${cur.machine}; docker ${cur.docker}; node ${cur.node}; ${cur.runs} runs, medians; pull alone ${cur.pull_ms} ms`)
console.log('| platforms | state | this action (ms) | reference flow (ms) | ratio | goal | met |' + (prev ? ' previous ratio |' : ''))
console.log('|---|---|---|---|---|---|---|' + (prev ? '---|' : ''))
for (const r of cur.results) {
  // the goals are for a runner that sees binfmt_misc; the container job's rows are reported beside them
  const gs = r.runner ? undefined : goals[r.state]
  const met = gs ? gs.map(([g]) => (r.ratio <= g ? 'yes' : 'NO')).join(', ') : '-'
  const goalText = gs ? gs.map(([g, what]) => `<= ${g} (${what})`).join(', ') : 'reported'
  const p = prev?.results.find(x => x.platforms === r.platforms && x.state === r.state && x.runner === r.runner)
  console.log(`| ${r.platforms}${r.runner ? ` (${r.runner})` : ''} | ${r.state} | ${r.ours_ms} | ${r.reference_ms} | ${r.ratio.toFixed(2)} | ${goalText} | ${met} |` + (prev ? ` ${p ? p.ratio.toFixed(2) : '-'} |` : ''))
}
JS
cp "$WORK/results.json" "$prev"
echo "written: $prev"

# the second engine: the same rows that a current Docker changes, run on it
if [ "$ENGINE" = host ]; then
  clear_qemu
  bash test/e2e/dind.sh start || exit 1
  # shellcheck disable=SC1091
  source "$E2E/dind/env"
  BENCH_ENGINE=dind unshare --mount --propagation private test/e2e/on-engine.sh "$DIND_SOCKET" bash bench/run.sh
fi
