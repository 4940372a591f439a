#!/usr/bin/env bash
# Runs a command on a machine whose local engine is another one: in a mount namespace of its own,
# where SOCKET is bind-mounted over /run/docker.sock. The command, the action it runs and every
# docker client see that engine as this machine's own, as a runner sees the engine its image ships.
#
#   unshare --mount --propagation private on-engine.sh SOCKET COMMAND...
set -euo pipefail
socket=$1
shift
[ -S "$socket" ] || { echo "on-engine.sh: $socket is not a socket" >&2; exit 1; }
[ -e /run/docker.sock ] || { echo "on-engine.sh: no /run/docker.sock to mount it over" >&2; exit 1; }
mount --bind "$socket" /run/docker.sock
unset DOCKER_HOST DOCKER_CONTEXT
exec "$@"
