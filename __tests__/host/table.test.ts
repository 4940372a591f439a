/**
 * The two tables the host stage chooses between: the runner's own, read and probed by this process, and
 * the engine's, read and probed through a view; verify, apply and post ask them and nothing else.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { readEntries } from '../../src/binfmt/table.js'
import { parseEntry, type Entry } from '../../src/binfmt/entry.js'
import type { EngineView, Look } from '../../src/host/engine-view.js'
import { EngineTable, RunnerTable } from '../../src/host/table.js'
import { fromNodeArch } from '../../src/platform/arch.js'
import type { Platform } from '../../src/platform/platforms.js'
import { writeProbes, type ProbeResult } from '../../src/probe/run.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'table-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
const own = fromNodeArch(process.arch) as Platform
const probes = writeProbes(dir, [own])
const file = probes.get(own.arch) as string
const missing: ProbeResult = { ok: false, error: 'interpreter missing' }

describe("the runner's own table", () => {
  const table = new RunnerTable()

  it('is the runner kernel', () => {
    expect(table).toMatchObject({ where: 'runner', why: '', sameKernel: true })
  })

  it("reads this runner's binfmt_misc, and runs the probes here", async () => {
    expect(await table.read()).toEqual(await readEntries())
    const seen = await table.probe(probes)
    expect(seen.entries).toEqual(await readEntries())
    expect(seen.results.get(own.arch)).toEqual({ ok: true })
    expect(await table.onRunner()).toBeUndefined()
  })

  it('asks a probe that seemed to miss its interpreter again, by itself, and keeps any other answer', async () => {
    expect(await table.again(file, missing)).toEqual({ ok: true })
    const refused: ProbeResult = { ok: false, error: 'exec failed' }
    expect(await table.again(file, refused)).toBe(refused)
  })

  it("binds the emulators from this runner's paths", () => {
    expect(table.exists(file)).toBe(true)
    expect(table.exists(path.join(dir, 'none'))).toBe(false)
    expect(table.mountsFor('/cache', '/run/k', ['qemu-aarch64'])).toEqual([
      { host: '/cache', target: '/run/k', send: false, files: ['qemu-aarch64'] }
    ])
  })
})

describe("the engine's table", () => {
  const entry: Entry = parseEntry('qemu-aarch64', 'enabled\ninterpreter /run/k/qemu-aarch64\nflags: F\noffset 0\nmagic 7f\n')
  const view = (): EngineView & { sent: ReadonlyMap<string, string>[] } => {
    const sent: ReadonlyMap<string, string>[] = []
    return {
      sent,
      look: async (p): Promise<Look> => {
        sent.push(p)
        const results = new Map([...p.keys()].map(arch => [arch, { ok: false, error: 'crashed' } as ProbeResult]))
        return { entries: new Map([['qemu-aarch64', entry]]), changed: false, enabled: true, bootId: 'b', machine: 'x', results }
      }
    }
  }

  it('says why it is used and whether it is the runner kernel', () => {
    expect(new EngineTable(view(), 'DOCKER_HOST is tcp', true)).toMatchObject({
      where: 'engine',
      why: 'DOCKER_HOST is tcp',
      sameKernel: true
    })
  })

  it("reads the table and runs the probes in the engine's containers", async () => {
    const v = view()
    const table = new EngineTable(v, 'test', false)
    expect([...(await table.read()).keys()]).toEqual(['qemu-aarch64'])
    const seen = await table.probe(probes)
    expect(seen.results.get(own.arch)).toEqual({ ok: false, error: 'crashed' })
    expect(v.sent.map(m => [...m.keys()])).toEqual([[], [own.arch]])
  })

  it("runs the runner's own probes only on the runner's kernel", async () => {
    expect(await new EngineTable(view(), 'test', false).onRunner(probes)).toBeUndefined()
    expect((await new EngineTable(view(), 'test', true).onRunner(probes))?.get(own.arch)).toEqual({ ok: true })
  })

  it("never asks again on the runner, and sends the emulators the engine's host may not have", async () => {
    const table = new EngineTable(view())
    expect(await table.again(file, missing)).toBe(missing)
    expect(await table.chrooted()).toBeUndefined()
    expect(table.exists()).toBeUndefined()
    expect(table.mountsFor('/cache', '/run/k', ['qemu-aarch64'])).toEqual([
      { host: '/cache', target: '/run/k', send: true, files: ['qemu-aarch64'] }
    ])
  })
})
