#!/usr/bin/env bash
# Runs a command as a `container:` job or an ARC runner pod sees the machine: in a mount namespace of
# its own, with a private tmpfs on /tmp that the engine cannot see (RUNNER_TEMP and the tool cache go
# there), binfmt_misc not mounted, as an unprivileged user in the docker group without sudo. The
# directories in KEEP (colon-separated: the run's directory with the runner's files, the action's
# dist/) stay visible at their own paths, wherever they are.
#
#   unshare --mount --propagation private container-job.sh USER KEEP COMMAND...
set -euo pipefail # bash, not sh: sh drops the runner's INPUT_ variables with hyphens
user=$1
IFS=: read -r -a keep <<<"$2"
shift 2
fds=()
for d in "${keep[@]}"; do
  exec {fd}<"$d"
  fds+=("$fd")
done
mount -t tmpfs -o mode=1777 tmpfs /tmp
for i in "${!keep[@]}"; do
  mkdir -p "${keep[$i]}"
  # the path of the open directory, not its name (which may now mean the tmpfs)
  fd=${fds[$i]}
  mount --no-canonicalize --bind "/proc/self/fd/$fd" "${keep[$i]}"
  exec {fd}<&-
done
mkdir -p /tmp/runner/temp /tmp/runner/toolcache
chown -R "$user" /tmp/runner
while grep -q ' /proc/sys/fs/binfmt_misc ' /proc/self/mountinfo; do umount /proc/sys/fs/binfmt_misc; done
exec runuser -u "$user" -- "$@"
