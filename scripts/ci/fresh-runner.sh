#!/usr/bin/env bash
# Puts a hosted runner back to nothing set up, between timed runs: no qemu-* binfmt_misc entries, no
# binfmt or busybox image in the engine, and no emulators in this action's tool cache.
set -euo pipefail
for f in /proc/sys/fs/binfmt_misc/qemu-*; do
  [ -e "$f" ] && echo -1 | sudo tee "$f" >/dev/null
done
docker image ls --format '{{.Repository}}:{{.Tag}}@{{.ID}}' |
  awk -F@ '$1 ~ /(^|\/)(binfmt|busybox):/ { print $2 }' | sort -u | xargs -r docker image rm -f >/dev/null
rm -rf "${RUNNER_TOOL_CACHE:?}/setup-qemu"
