// The engine calls docker/setup-qemu-action v4 makes, in its order, replayed with the same images:
// docker version, docker info, docker pull, docker image inspect, then three container runs of the
// binfmt image: --version, --install PLATFORMS, and the status listing.
// It runs them with --privileged; engines that refuse that (this one does) get the least privilege
// that works, --cap-add SYS_ADMIN, which costs the same container start.
// usage: node bench/reference.mjs IMAGE PLATFORMS [privileged|cap-add]
import { execFileSync } from 'node:child_process'

const [image, platforms, mode = 'cap-add'] = process.argv.slice(2)
const priv = mode === 'privileged' ? ['--privileged'] : ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined']
const docker = args => execFileSync('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()

docker(['version'])
docker(['info'])
docker(['pull', image])
docker(['image', 'inspect', image])
docker(['run', '--rm', ...priv, image, '--version'])
docker(['run', '--rm', ...priv, image, '--install', platforms])
JSON.parse(docker(['run', '--rm', ...priv, image]))
