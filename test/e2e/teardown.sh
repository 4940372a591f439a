#!/usr/bin/env bash
# Stops what setup.sh started (and only that) and unmounts nothing it did not mount.
E2E=${E2E:-/tmp/setup-qemu-e2e}
for svc in front http hang basic token tokens hub proxy mirror badmirror registry dockerd; do
  pid=$(cat "$E2E/$svc.pid" 2>/dev/null) || continue
  kill "$pid" 2>/dev/null && for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  rm -f "$E2E/$svc.pid"
done
exit 0
