// The engine calls docker/setup-qemu-action v4 makes, in its order, replayed with the same images:
// docker version, docker info, docker pull, docker image inspect, then three container runs of the
// binfmt image: --version, --install PLATFORMS, and the status listing.
// It runs them with --privileged; engines that refuse that (this one does) get the least privilege
// that works, --cap-add SYS_ADMIN, which costs the same container start.
// The test image's stand-in installer is told the platforms this host runs natively (NATIVE_PLATFORMS,
// which the test environment found by running a real binary), so that `all` installs what upstream's
// would here: every emulator but the native ones. Upstream finds that out itself.
// usage: node bench/reference.mjs IMAGE PLATFORMS [privileged|cap-add]
import { execFileSync } from 'node:child_process'

const [image, platforms, mode = 'cap-add'] = process.argv.slice(2)
const runOptions = [
  ...(mode === 'privileged' ? ['--privileged'] : ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined']),
  ...(process.env.NATIVE_PLATFORMS ? ['-e', `BINFMT_NATIVE=${process.env.NATIVE_PLATFORMS}`] : [])
]
const docker = args => execFileSync('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()

docker(['version'])
docker(['info'])
docker(['pull', image])
docker(['image', 'inspect', image])
docker(['run', '--rm', ...runOptions, image, '--version'])
docker(['run', '--rm', ...runOptions, image, '--install', platforms])
JSON.parse(docker(['run', '--rm', ...runOptions, image]))
