#!/usr/bin/env bash
# Runs a command as a `container:` job or an ARC runner pod sees the machine: in a mount namespace of
# its own, with a private tmpfs on /tmp that the engine cannot see (RUNNER_TEMP and the tool cache go
# there), binfmt_misc not mounted, as an unprivileged user in the docker group without sudo. The run's
# directory (the runner's files: GITHUB_OUTPUT, GITHUB_STATE...) stays visible at its own path.
#
#   unshare --mount --propagation private container-job.sh USER RUN_DIR COMMAND...
set -euo pipefail # bash, not sh: sh drops the runner's INPUT_ variables with hyphens
user=$1 dir=$2
shift 2
exec 3<"$dir"
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p "$dir"
# the path of fd 3, not its name (which now means the tmpfs)
mount --no-canonicalize --bind /proc/self/fd/3 "$dir"
exec 3<&-
mkdir -p /tmp/runner/temp /tmp/runner/toolcache
chown -R "$user" /tmp/runner
while grep -q ' /proc/sys/fs/binfmt_misc ' /proc/self/mountinfo; do umount /proc/sys/fs/binfmt_misc; done
exec runuser -u "$user" -- "$@"
