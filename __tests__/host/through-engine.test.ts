import { afterAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseEntry, registrationLine } from '../../src/binfmt/entry.js'
import type { EngineView, Look } from '../../src/host/engine-view.js'
import { inspectHost } from '../../src/host/inspect.js'
import { byArch } from '../../src/platform/platforms.js'
import type { HostProbes, ProbeResult } from '../../src/probe/run.js'

// the engine is elsewhere: the host stage must not touch this machine's binfmt_misc at all
const saved = process.env.DOCKER_HOST
process.env.DOCKER_HOST = 'tcp://127.0.0.1:2375'
afterAll(() => {
  if (saved === undefined) delete process.env.DOCKER_HOST
  else process.env.DOCKER_HOST = saved
})

const ok: ProbeResult = { ok: true }
const refused: ProbeResult = { ok: false, error: 'exec failed', detail: 'the kernel refused to run it' }
const [amd64, i386, arm64] = ['amd64', '386', 'arm64'].map(byArch)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'through-engine-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** The runner's early probes: its own platform passes, as on any sane runner. */
const early = (): Promise<HostProbes & { seen: string }> =>
  Promise.resolve({
    probes: new Map([amd64, i386, arm64].map(p => [p.arch, path.join(dir, `probe-${p.arch}`)])),
    before: new Map([[amd64.arch, ok]]),
    seen: ''
  })

const arm64Entry = (() => {
  const [, , , , magic, mask] = registrationLine(arm64, '/usr/bin/qemu-aarch64-static').split(':')
  const hex = (s: string): string => s.replaceAll('\\x', '')
  return parseEntry(
    'qemu-aarch64',
    `enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: F\noffset 0\nmagic ${hex(magic)}\nmask ${hex(mask)}\n`
  )
})()

function view(looks: Partial<Look>[]): EngineView & { sent: ReadonlyMap<string, string>[] } {
  const sent: ReadonlyMap<string, string>[] = []
  return {
    sent,
    look: async probes => {
      sent.push(probes)
      return {
        entries: new Map([['qemu-aarch64', arm64Entry]]),
        changed: false,
        enabled: true,
        bootId: 'another-kernel',
        machine: 'x86_64',
        results: new Map([
          [amd64.arch, ok],
          [i386.arch, refused],
          [arm64.arch, ok]
        ]),
        ...looks.shift()
      }
    }
  }
}

describe('the host stage through the engine', () => {
  it("plans from the engine's table and its probes, and says why it went there", async () => {
    const v = view([{}])
    const h = await inspectHost(path.join(dir, 'p'), [arm64], early(), 'x64', v)
    expect(h.table).toMatchObject({ where: 'engine', why: 'DOCKER_HOST is tcp://127.0.0.1:2375', sameKernel: false })
    expect([...h.entries.keys()]).toEqual(['qemu-aarch64'])
    expect(h.native).toEqual([amd64]) // 386 refused in the engine's container: foreign there
    expect(h.before.get(arm64.arch)).toEqual(ok)
    expect([...v.sent[0].keys()].sort()).toEqual(['386', 'amd64', 'arm64'])
  })

  it('looks again while the table changes, and gives up after three', async () => {
    const v = view([{ changed: true }, { changed: true }, { changed: true }])
    await expect(inspectHost(path.join(dir, 'p'), [arm64], early(), 'x64', v)).rejects.toThrow(/kept changing/)
    expect(v.sent).toHaveLength(3)
  })

  it('refuses an engine of another architecture', async () => {
    await expect(inspectHost(path.join(dir, 'p'), [arm64], early(), 'x64', view([{ machine: 'aarch64' }]))).rejects.toThrow(
      /the engine runs on aarch64, and this runner on x86_64/
    )
  })

  it("stops when a container there cannot run the engine's own platform", async () => {
    const results = new Map([[amd64.arch, refused]])
    await expect(inspectHost(path.join(dir, 'p'), [arm64], early(), 'x64', view([{ results }]))).rejects.toThrow(
      /a container on this engine cannot run its own linux\/amd64 probe/
    )
  })

  it('a switched-off binfmt_misc is said to be', async () => {
    await expect(inspectHost(path.join(dir, 'p'), [arm64], early(), 'x64', view([{ enabled: false }]))).rejects.toThrow(
      /switched off/
    )
  })
})
