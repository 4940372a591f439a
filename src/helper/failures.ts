/**
 * What a helper container's failure says: the engine's refusal of privilege, a helper image that lacks
 * what the script needs, an engine that went away. Each names the image where it is at fault.
 */
import { oneLine } from '../engine/docker.js'
import type { EngineInfo } from '../engine/engine.js'
import type { Privilege } from '../inputs/inputs.js'
import type { HelperOutput } from './protocol.js'

/** What the engine says when it will not grant a container the privilege it asked for. */
export const REFUSAL = /privileged|operation not permitted|permission denied|apply caps|capabilit|not allowed/i

/** The engine went away, or was never there at this address. */
const GONE = /cannot connect to the docker daemon|error during connect|connection refused|broken pipe|connection reset|EOF$/i

export const ROOTLESS =
  'this Docker engine is rootless: its containers cannot write the kernel-wide binfmt_misc table. ' +
  'Run the step on a rootful engine, or have an administrator register the emulators once ' +
  '(a rootless Docker-in-Docker sidecar is such an engine: make it a privileged, rootful one).'

/** Every privilege tried was refused: what each refusal said, and what this engine can do instead. */
export function refusedEverything(refusals: readonly string[], privilege: Privilege, info: EngineInfo): Error {
  const userns = info.securityOptions.some(o => o.includes('name=userns'))
  return new Error(
    `the engine refused the helper container the privilege it needs to write binfmt_misc (${refusals.join('; ')}). ` +
      (privilege === 'auto' ? '' : 'Try `privileged: auto`. ') +
      (userns
        ? "This engine maps users into a user namespace (userns-remap) and did not let the helper use the host's: " +
          'allow `--userns host` for it, or register the emulators once from a privileged context on its host.'
        : 'Rootless and locked-down engines (one that refuses both --privileged and SYS_ADMIN) cannot do this: ' +
          'use a rootful Docker engine that allows one of them, or have an administrator register the emulators once.')
  )
}

/**
 * A helper that stopped before its work: the error, or (binfmt_misc would not mount for want of
 * privilege) the refusal that lets a higher privilege be tried; undefined when it did not stop there.
 */
export function stoppedBeforeWork(image: string, output: HelperOutput): Error | { refused: string } | undefined {
  const mountFail = output.mountFail
  if (mountFail !== undefined) {
    if (/not found/i.test(mountFail)) {
      return new Error(
        `the helper image ${image} cannot mount binfmt_misc (${mountFail}): use an image with sh and mount, such as busybox`
      )
    }
    if (/permission denied|not permitted/i.test(mountFail)) return { refused: `mounting binfmt_misc failed: ${mountFail}` }
    return new Error(
      `the helper container could not mount binfmt_misc: ${mountFail}. Check that the kernel has binfmt_misc ` +
        '(`sudo modprobe binfmt_misc`), and mount it on the host before this step ' +
        '(`sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc`).'
    )
  }
  if (output.noTar) {
    return new Error(
      `the helper image ${image} has no tar to receive the emulators on its stdin, which an engine that cannot ` +
        "see the runner's files needs: use an image with sh, mount and tar, such as busybox"
    )
  }
  if (output.untarFail !== undefined) {
    return new Error(
      `the helper image ${image} could not unpack what was sent to it: ${output.untarFail}. Use busybox, whose tar reads the stream.`
    )
  }
  if (output.noOd) return new Error(`the helper image ${image} has no od to report the binfmt_misc table: use busybox`)
  return undefined
}

/** A helper that did not get far enough to answer: why, naming the image where it is at fault. */
export function notAnswered(image: string, r: { exitCode: number; stdout: string; stderr: string }): Error {
  if (r.exitCode === 127 || /"sh".*(executable file not found|no such file or directory)/i.test(r.stderr)) {
    return new Error(
      `the helper image ${image} has no POSIX shell (sh) to run the registration: ` +
        `use an image with sh and mount, such as busybox (${oneLine(r.stderr)})`
    )
  }
  if (GONE.test(oneLine(r.stderr))) {
    return new Error(
      `the Docker engine went away during this step (${oneLine(r.stderr)}). Every binfmt_misc change is one whole ` +
        'entry, so none is left half-made; check the engine (DOCKER_HOST, the Docker-in-Docker sidecar) and run the step again.'
    )
  }
  return new Error(
    `the helper container failed (docker run exit code ${r.exitCode}): ${oneLine(r.stderr || r.stdout) || 'no message'}. ` +
      'That is the engine\'s own message: "no matching manifest" or a platform mismatch means helper-image has no ' +
      'variant for this runner (busybox has one for each); for anything else, check the engine (`docker info`) and ' +
      'run the step again.'
  )
}
