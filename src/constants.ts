/** Names of inputs, outputs and state, in one place (action.yml must agree). */
import { randomBytes } from 'node:crypto'

export const Input = {
  Platforms: 'platforms',
  Image: 'image',
  HelperImage: 'helper-image',
  Reset: 'reset',
  CacheImage: 'cache-image',
  Cleanup: 'cleanup',
  Privileged: 'privileged',
  RegisterFrom: 'register-from',
  Source: 'source',
  DownloadUrl: 'download-url',
  DownloadSha256: 'download-sha256',
  Timeout: 'timeout',
  Summary: 'summary',
  RegistryMirror: 'registry-mirror'
} as const

export const Output = {
  Platforms: 'platforms',
  Emulated: 'emulated',
  Failed: 'failed',
  QemuVersion: 'qemu-version'
} as const

export const State = {
  IsPost: 'isPost',
  /** main's RUN_ID while it may leave containers; post sweeps them */
  Run: 'run',
  Cleanup: 'cleanup',
  ActionsCache: 'actionsCache'
} as const

export const DEFAULT_IMAGE =
  'docker.io/tonistiigi/binfmt:qemu-v10.2.3-68@sha256:400a4873b838d1b89194d982c45e5fb3cda4593fbfd7e08a02e76b03b21166f0'

export const DEFAULT_HELPER_IMAGE =
  'docker.io/library/busybox:1.37.0@sha256:bdf57e528e45e4433820e045b29b4597825a1c9e38353532d90a01445013f82e'

/** Where the emulators appear inside the helper; absent on hosts, so a probe that runs there proves `F`. */
export const INTERPRETER_DIR = '/run/setup-qemu'

export const TOOL_CACHE_NAME = 'setup-qemu'

/** Labels every container this action creates, with the run that created it, so none is left unfound. */
export const CONTAINER_LABEL = 'io.github.setup-qemu.run'

/** This run, as container names and labels show it. */
export const RUN_ID = `${process.pid}-${randomBytes(3).toString('hex')}`
