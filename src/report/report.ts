/**
 * Stage 6: telling the workflow. Outputs in buildx's terms, one error per platform that does not work,
 * and a summary table a person can read at a glance.
 */
import * as core from '@actions/core'
import { Output } from '../constants.js'
import { qemuVersionOf } from '../acquire/qemu-version.js'
import type { Emulators } from '../acquire/source.js'
import type { Decision } from '../register/plan.js'
import type { Verdict } from '../verify/verify.js'
import * as log from '../log.js'
import { html } from '../log.js'
import { PLATFORMS, type Platform } from '../platform/platforms.js'

export interface Outputs {
  platforms: string
  emulated: string
  failed: string
  qemuVersion: string
}

const names = (ps: readonly Platform[]): string[] => PLATFORMS.filter(p => ps.includes(p)).flatMap(p => p.platforms)

/**
 * `platforms`: every platform usable after the step, native first, then emulated, in table order.
 * Native platforms count whether asked for or not, as buildx can always build for them.
 */
export function outputsFor(
  verdicts: readonly Verdict[],
  native: readonly Platform[],
  version?: string,
  variants: readonly string[] = []
): Outputs {
  const emulated = verdicts.filter(v => v.ok && !v.native).map(v => v.platform)
  const nativeOk = [...native, ...verdicts.filter(v => v.ok && v.native).map(v => v.platform)]
  const failed = verdicts.filter(v => !v.ok).map(v => v.platform)
  // a variant follows its platform, as buildx lists them: linux/amd64,linux/amd64/v2,...
  const withVariants = names(nativeOk).flatMap(n => [n, ...variants.filter(v => v.startsWith(`${n}/`))])
  return {
    platforms: [...withVariants, ...names(emulated.filter(p => !nativeOk.includes(p)))].join(','),
    emulated: names(emulated).join(','),
    failed: names(failed).join(','),
    qemuVersion: qemuVersionOf(version) ?? ''
  }
}

export function setOutputs(o: Outputs): void {
  core.setOutput(Output.Platforms, o.platforms)
  core.setOutput(Output.Emulated, o.emulated)
  core.setOutput(Output.Failed, o.failed)
  core.setOutput(Output.QemuVersion, o.qemuVersion)
}

/**
 * One annotation per platform that does not work: an error for a platform named in the input, a
 * warning for one only `all` brought in (the others go on without it).
 */
export function reportFailures(verdicts: readonly Verdict[], named: (p: Platform) => boolean): void {
  for (const v of verdicts.filter(x => !x.ok)) {
    const message = `${v.platform.platforms.join(', ')}: ${v.reason ?? 'did not pass its probe'}`
    if (named(v.platform)) log.error(message, { title: `QEMU ${v.platform.arch}` })
    else log.warning(message, { title: `QEMU ${v.platform.arch}` })
  }
}

/** Why the step fails, or undefined when it passes: a named platform failed, or `all` gave nothing that works. */
export function stepFailure(verdicts: readonly Verdict[], named: (p: Platform) => boolean): string | undefined {
  const failed = verdicts.filter(v => !v.ok)
  const required = failed.filter(v => named(v.platform))
  if (required.length > 0) {
    return (
      `${required.length} of ${verdicts.length} requested platforms do not work: ` +
      required.map(v => v.platform.platforms[0]).join(', ') +
      '. The others are set up and in the platforms output. The error for each says why, and what to do.'
    )
  }
  if (failed.length > 0 && !verdicts.some(v => v.ok && !v.native)) {
    return `no emulated platform works here: ${failed.map(v => v.platform.platforms[0]).join(', ')} failed (see the warnings above).`
  }
  return undefined
}

const DID: Record<Decision['action'], string> = {
  native: 'nothing (native)',
  keep: 'kept',
  add: 'registered',
  replace: 'replaced',
  unavailable: 'nothing'
}

export async function writeSummary(
  verdicts: readonly Verdict[],
  decisions: readonly Decision[],
  native: readonly Platform[],
  outputs: Outputs,
  emulators: Emulators | undefined,
  method: string | undefined,
  /** who the emulators serve, where that is more than the engine's containers */
  serves?: string
): Promise<void> {
  // every cell is text, some of it from the kernel or the engine: never markup
  const row = (platform: Platform, kind: string, did: string, why: string, how: string, result: string): string[] =>
    [platform.platforms.join(', '), kind, did, why, how, result].map(html)
  // native platforms nobody asked for are usable too: they are in the platforms output
  const unasked = native.filter(p => !verdicts.some(v => v.platform === p))
  const rows = [
    ...unasked.map(p => row(p, 'native', DID.native, 'the host runs it', 'native probe', '✅ works')),
    ...verdicts.map(v => {
      const d = decisions.find(x => x.platform === v.platform)
      return row(
        v.platform,
        v.native ? 'native' : 'emulated',
        d ? DID[d.action] : 'nothing',
        d?.reason ?? (v.native ? '' : 'not asked for; an entry already there runs it'),
        v.how,
        v.ok ? '✅ works' : `❌ ${v.reason ?? 'failed'}`
      )
    })
  ]
  const header = ['Platform', 'Kind', 'Done', 'Why', 'Verified by', 'Result'].map(data => ({ data, header: true }))
  const code = (text: string): string => `<code>${html(text) || '(none)'}</code>`
  await core.summary
    .addHeading('QEMU emulation', 3)
    .addTable([header, ...rows])
    .addList(
      [
        emulators
          ? `Emulators: ${code(emulators.from)} (${emulators.origin}${emulators.version ? `, QEMU ${html(emulators.version)}` : ''})`
          : '',
        method ? `Registered through: ${html(method)}` : '',
        serves ? html(serves.charAt(0).toUpperCase() + serves.slice(1)) : '',
        `platforms: ${code(outputs.platforms)}`,
        outputs.failed ? `failed: ${code(outputs.failed)}` : ''
      ].filter(Boolean)
    )
    .write()
}
