/**
 * Stage 6: telling the workflow. Outputs in buildx's terms, one error per platform that does not work,
 * and a summary table a person can read at a glance.
 */
import * as core from '@actions/core'
import { Output } from '../constants.js'
import type { Emulators } from '../acquire/source.js'
import type { Decision } from '../register/plan.js'
import type { Verdict } from '../verify/verify.js'
import { PLATFORMS, type Platform } from '../platforms.js'

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
export function outputsFor(verdicts: readonly Verdict[], native: readonly Platform[], version?: string): Outputs {
  const emulated = verdicts.filter(v => v.ok && !v.native).map(v => v.platform)
  const nativeOk = [...native, ...verdicts.filter(v => v.ok && v.native).map(v => v.platform)]
  const failed = verdicts.filter(v => !v.ok).map(v => v.platform)
  return {
    platforms: [...names(nativeOk), ...names(emulated.filter(p => !nativeOk.includes(p)))].join(','),
    emulated: names(emulated).join(','),
    failed: names(failed).join(','),
    qemuVersion: version ?? ''
  }
}

export function setOutputs(o: Outputs): void {
  core.setOutput(Output.Platforms, o.platforms)
  core.setOutput(Output.Emulated, o.emulated)
  core.setOutput(Output.Failed, o.failed)
  core.setOutput(Output.QemuVersion, o.qemuVersion)
}

export function reportFailures(verdicts: readonly Verdict[]): void {
  for (const v of verdicts.filter(x => !x.ok)) {
    core.error(`${v.platform.platforms.join(', ')}: ${v.reason ?? 'did not pass its probe'}`, { title: `QEMU ${v.platform.arch}` })
  }
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
  method: string | undefined
): Promise<void> {
  const row = (platform: Platform, kind: string, did: string, why: string, how: string, result: string): string[] =>
    [platform.platforms.join(', '), kind, did, why, how, result]
  // native platforms nobody asked for are usable too: they are in the platforms output
  const unasked = native.filter(p => !verdicts.some(v => v.platform === p))
  const rows = [
    ...unasked.map(p => row(p, 'native', DID.native, 'the host runs it', 'native probe', '✅ works')),
    ...verdicts.map(v => {
      const d = decisions.find(x => x.platform === v.platform)
      return row(v.platform, v.native ? 'native' : 'emulated', d ? DID[d.action] : '', d?.reason ?? '', v.how, v.ok ? '✅ works' : `❌ ${v.reason ?? 'failed'}`)
    })
  ]
  const header = ['Platform', 'Kind', 'Done', 'Why', 'Verified by', 'Result'].map(data => ({ data, header: true }))
  const code = (text: string): string => `<code>${text || '(none)'}</code>`
  await core.summary
    .addHeading('QEMU emulation', 3)
    .addTable([header, ...rows])
    .addList(
      [
        emulators ? `Emulators: ${code(emulators.from)} (${emulators.origin}${emulators.version ? `, QEMU ${emulators.version}` : ''})` : '',
        method ? `Registered through: ${method}` : '',
        `platforms: ${code(outputs.platforms)}`,
        outputs.failed ? `failed: ${code(outputs.failed)}` : ''
      ].filter(Boolean)
    )
    .write()
}
