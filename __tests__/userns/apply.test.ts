/**
 * Main's register stage against the real kernel interface, in a private binfmt_misc instance: what it
 * records for the post step before writing, and what it says when the writes stop part-way.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { clearInstance, privateInstance } from './instance.js'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { registrationLine } from '../../src/binfmt/entry.js'
import { BINFMT_MISC, readEntries } from '../../src/binfmt/table.js'
import type { HostState } from '../../src/host/inspect.js'
import { RunnerTable } from '../../src/host/table.js'
import type { Inputs } from '../../src/inputs/inputs.js'
import { byArch, type Platform } from '../../src/platform/platforms.js'
import { register } from '../../src/register/apply.js'
import { DirectRegistrar } from '../../src/register/direct.js'
import { decide } from '../../src/register/plan.js'
import type { Change, ChangeResult } from '../../src/register/registrar.js'

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-qemu-apply-'))
const stateFile = path.join(work, 'state')

/** Writes directly, and stops (as a killed helper would) after `stopAfter` changes. */
class Stopping extends DirectRegistrar {
  constructor(private readonly stopAfter: number) {
    super()
  }
  protected async write(changes: readonly Change[]): Promise<ChangeResult[]> {
    // what was saved for post must already be there
    expect(fs.readFileSync(stateFile, 'utf8')).toContain('cleanup<<')
    await super.write(changes.slice(0, this.stopAfter))
    throw new Error('the helper container was killed')
  }
}

beforeAll(() => {
  privateInstance()
  fs.writeFileSync(stateFile, '')
  process.env.GITHUB_STATE = stateFile
})
afterAll(clearInstance)

describe('the register stage', () => {
  it('saves what post must undo before writing, and names what a stopped write lost', async () => {
    const arm64 = byArch('arm64')
    fs.writeFileSync(
      path.join(BINFMT_MISC, 'register'),
      registrationLine(arm64, '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', 'P')
    )
    const entries = await readEntries()
    const interpreter = (p: Platform): string => `/run/setup-qemu/k/qemu-${p.cpu}`
    const host = { entries, native: [byArch('amd64')], undecided: new Map(), table: new RunnerTable() } as unknown as HostState
    const decisions = decide({
      requested: [arm64],
      native: host.native,
      entries,
      before: new Map([['arm64', { ok: true }]]),
      reset: false,
      interpreter
    })
    const inputs = { cleanup: true, reset: false, helperImage: 'busybox', privileged: 'auto', timeout: 60 } as Inputs
    await expect(register({ decisions, interpreter }, host, inputs, new Stopping(1))).rejects.toThrow(
      /^the helper container was killed binfmt_misc no longer has qemu-aarch64, which was there before this step\. The post step puts back what it can\.$/
    )
    const saved = fs.readFileSync(stateFile, 'utf8')
    expect(saved).toContain('"added":["qemu-aarch64"]')
    expect(saved).toContain(
      '"removed":[{"name":"qemu-aarch64","enabled":true,"interpreter":"/usr/libexec/qemu-binfmt/aarch64-binfmt-P"'
    )
  })
})
