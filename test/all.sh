#!/usr/bin/env bash
# Every test, from a clean clone on a fresh machine (root needed): installs the npm dependencies,
# type-checks, lints, runs the unit tests, rebuilds dist/ and checks it is what is committed, installs
# and starts the test environment (Debian packages, dockerd, a registry and an HTTP server on 127.0.0.1),
# runs the user-namespace integration tests and the end-to-end tests against the bundled action (on the
# Node action.yml names) twice: on this machine's engine, and on Debian 13's Docker with the containerd
# image store in a sidecar (test/e2e/dind.sh), and stops what it started. Ends with a line per e2e tier
# (engine, storage, counts), then one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
own_e2e=0
[ -n "${E2E:-}" ] || { E2E=$(mktemp -d /tmp/setup-qemu-e2e.XXXXXX); own_e2e=1; }
export E2E
results=$E2E/results
mkdir -p "$results"
passed=0 failed=0 broken=()
step() { printf '\n##### %s\n' "$*"; }
tally_jest() { # FILE NAME: adds jest's counts from its JSON report
  if [ -s "$1" ]; then
    passed=$((passed + $(node -p "require('$1').numPassedTests")))
    failed=$((failed + $(node -p "require('$1').numFailedTests")))
  else
    failed=$((failed + 1)); broken+=("$2 produced no report")
  fi
}
must() { # NAME COMMAND...: a check that counts as one test
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); broken+=("$name"); fi
}

all_passed=0
teardown() {
  bash test/e2e/dind.sh stop
  bash test/e2e/teardown.sh
  # keep what a failed run left for a look; a passing one leaves nothing behind
  if [ $all_passed = 1 ] && [ $own_e2e = 1 ]; then rm -rf "$E2E"; fi
}
trap teardown EXIT

step "npm ci"
npm ci --no-audit --no-fund >"$E2E/npm-ci.log" 2>&1 || { tail -30 "$E2E/npm-ci.log"; echo "0 passed, 1 failed"; exit 1; }

# The lint step needs Debian's shellcheck, and runs before the test environment installs the rest
need_shellcheck() {
  command -v shellcheck >/dev/null && return 0
  local attempt
  for attempt in 1 2 3; do
    # a mirror mid-sync fails an index now and then: update, install, and retry a while later
    apt-get update -q >"$E2E/apt-shellcheck.log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck >>"$E2E/apt-shellcheck.log" 2>&1 && return 0
    [ $attempt = 3 ] || sleep $((attempt * 15))
  done
  echo "could not install shellcheck:"; tail -20 "$E2E/apt-shellcheck.log"
  return 1
}

step "type check and lint"
need_shellcheck
must "tsc" npm run -s build
must "lint (eslint, shellcheck)" npm run -s lint

step "unit tests"
NODE_OPTIONS=--experimental-vm-modules npx jest --json --outputFile="$results/unit.json" \
  --coverage --coverageReporters=json --coverageDirectory="$results/coverage/unit" 2>&1 | tail -40
tally_jest "$results/unit.json" "unit tests"

step "dist/ is what npm run bundle makes"
must "bundle" npm run -s bundle >/dev/null
# a file the bundle no longer makes, or a new one it makes, counts as much as a changed one
dist_fresh() { git status --short -- dist; [ -z "$(git status --porcelain -- dist)" ]; }
must "dist is fresh" dist_fresh

step "test environment"
if ! bash test/e2e/setup.sh; then
  echo "the test environment could not be set up"
  printf '\n%d passed, %d failed\n' "$passed" "$((failed + 1))"
  exit 1
fi

step "user-namespace integration tests (a private binfmt_misc instance)"
unshare --user --map-root-user --mount --fork env NODE_OPTIONS=--experimental-vm-modules \
  npx jest --config jest.userns.config.js --runInBand --json --outputFile="$results/userns.json" \
  --coverage --coverageReporters=json --coverageDirectory="$results/coverage/userns" 2>&1 | tail -40
tally_jest "$results/userns.json" "user-namespace tests"

step "integration tests against real services on 127.0.0.1 (registries of their own)"
NODE_OPTIONS=--experimental-vm-modules npx jest --config jest.integration.config.js --runInBand --json \
  --outputFile="$results/integration.json" \
  --coverage --coverageReporters=json --coverageDirectory="$results/coverage/integration" 2>&1 | tail -40
tally_jest "$results/integration.json" "integration tests"

step "coverage of src/"
node scripts/coverage.mjs "$results/coverage" "$results/coverage/unit" "$results/coverage/userns" "$results/coverage/integration"

# One e2e tier per engine: the bundled action on the Node action.yml names, one jest file per scenario.
# Each tier's line in the closing summary says which engine, its storage and its counts.
tiers=()
engine_of() { # what `docker` reaches now: version, storage driver, and the image store
  local store
  store=$(docker info --format '{{range .DriverStatus}}{{if eq (index . 0) "driver-type"}}{{index . 1}}{{end}}{{end}}' 2>/dev/null)
  printf 'Docker %s (%s, %s)' "$(docker version --format '{{.Server.Version}}' 2>/dev/null)" \
    "$(docker info --format '{{.Driver}}' 2>/dev/null)" "$([ -n "$store" ] && echo "containerd image store" || echo "graph driver store")"
}
e2e_tier() { # NAME LABEL [WRAP...]: runs the e2e tier, under WRAP when given, and tallies it
  local name=$1 label=$2 p0=$passed f0=$failed
  shift 2
  "$@" env NODE_OPTIONS=--experimental-vm-modules npx jest --config jest.e2e.config.js --runInBand --json \
    --outputFile="$results/$name.json" 2>&1 | tail -80
  tally_jest "$results/$name.json" "end-to-end tests on $label"
  tiers+=("e2e on $label, bundle on Node $bundle_node: $((passed - p0)) passed, $((failed - f0)) failed")
}
bundle_node=$(node --input-type=module -e "import { actionNode } from './scripts/runner.mjs'; console.log(actionNode().version)" 2>&1) ||
  { echo "no Node for the bundle: $bundle_node"; bundle_node="(none)"; }

host_engine=$(engine_of)
step "end-to-end tests on this machine's engine: $host_engine; the bundle on Node $bundle_node"
e2e_tier e2e "$host_engine"

step "a second engine: Debian 13's Docker with the containerd image store, in a sidecar (dind)"
dind_started=$(date +%s)
if bash test/e2e/dind.sh start; then
  echo "the sidecar's engine was ready in $(($(date +%s) - dind_started)) s"
  # shellcheck disable=SC1091
  source "$E2E/dind/env"
  dind_engine=$(DOCKER_HOST=unix://$DIND_SOCKET engine_of)
  step "end-to-end tests on the sidecar's engine: $dind_engine; the bundle on Node $bundle_node"
  e2e_tier e2e-dind "$dind_engine in a sidecar" env E2E_SIDECAR_SOCKET="$DIND_SOCKET" \
    unshare --mount --propagation private test/e2e/on-engine.sh "$DIND_SOCKET"
else
  failed=$((failed + 1)); broken+=("the sidecar engine (test/e2e/dind.sh start)")
fi

step "npm run demo, on the environment set up above"
before_demo=$(for f in /proc/sys/fs/binfmt_misc/*; do echo "$f"; cat "$f" 2>/dev/null; done)
npm run -s demo 2>&1 | tee "$results/demo.log"
demo_rc=${PIPESTATUS[0]}
must "demo exits 0" test "$demo_rc" = 0
must "demo prints aarch64 from a container" grep -q -- '-> *aarch64$' "$results/demo.log"
must "demo leaves binfmt_misc as it was" test "$before_demo" = "$(for f in /proc/sys/fs/binfmt_misc/*; do echo "$f"; cat "$f" 2>/dev/null; done)"

echo
for t in "${tiers[@]}"; do echo "$t"; done
for b in "${broken[@]}"; do echo "broken: $b"; done
printf '\n%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ] && all_passed=1
[ "$failed" = 0 ]
