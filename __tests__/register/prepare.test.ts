import { describe, expect, it } from '@jest/globals'
import type { CachedEmulators, EmulatorSource, Emulators } from '../../src/acquire/source.js'
import type { HostState } from '../../src/host/inspect.js'
import { RunnerTable } from '../../src/host/table.js'
import type { Inputs } from '../../src/inputs/inputs.js'
import { byArch, type Platform } from '../../src/platform/platforms.js'
import { prepare } from '../../src/register/prepare.js'
import { Registrar, type ChangeResult } from '../../src/register/registrar.js'
import { registrationLine, parseEntry } from '../../src/binfmt/entry.js'

class Recording extends Registrar {
  readonly kind = 'container'
  readonly method = 'test'
  prepared = 0
  expectKernel(): void {}
  interpreterDir(key: string): string {
    return `/run/setup-qemu/${key}`
  }
  async prepare(): Promise<unknown> {
    this.prepared++
    return undefined
  }
  protected async write(): Promise<ChangeResult[]> {
    return []
  }
}

function source(
  cached: CachedEmulators | undefined,
  fetched: Emulators
): EmulatorSource & { asked: Array<'all' | readonly Platform[]> } {
  const asked: Array<'all' | readonly Platform[]> = []
  return {
    from: 'test',
    asked,
    cached: async () => cached,
    acquire: async wanted => {
      asked.push(wanted)
      return fetched
    }
  }
}

const arm64 = byArch('arm64')
const s390x = byArch('s390x')
const host = (entries: HostState['entries'] = new Map(), before: HostState['before'] = new Map()): HostState => ({
  mount: { mountedNow: false },
  entries,
  native: [byArch('amd64')],
  variants: [],
  undecided: new Map([['386', 'why']]),
  probes: new Map(),
  bootId: 'b',
  before,
  table: new RunnerTable()
})
const inputs = (platforms: Inputs['platforms']): Inputs =>
  ({ platforms, named: platforms === 'all' ? [] : platforms, reset: false }) as unknown as Inputs
const emulators = (archs: string[], complete = true): CachedEmulators => ({
  dir: '/cache',
  archs: new Set(archs),
  key: 'k',
  origin: 'tool cache',
  from: 'test',
  complete
})

describe('from the host to a plan with the emulators it needs', () => {
  it('fetches nothing when every requested platform already works', async () => {
    const ours = parseEntry(
      'qemu-aarch64',
      `enabled\ninterpreter /run/setup-qemu/k/qemu-aarch64\nflags: POCF\noffset 0\nmagic ${registrationLine(arm64, '/x').split(':')[4].replaceAll('\\x', '')}\nmask ${registrationLine(arm64, '/x').split(':')[5].replaceAll('\\x', '')}\n`
    )
    const src = source(emulators(['arm64', 's390x']), emulators([]))
    const r = new Recording()
    const p = await prepare(inputs([arm64]), host(new Map([[ours.name, ours]]), new Map([['arm64', { ok: true }]])), src, r)
    expect(p.decisions.map(d => d.action)).toEqual(['keep'])
    expect(src.asked).toEqual([])
    expect(r.prepared).toBe(0)
  })

  it('fetches only what must be registered, and gets the helper ready meanwhile', async () => {
    const fetched = { ...emulators(['arm64', 's390x']), dir: '/snapshot', origin: 'image' as const }
    const src = source(undefined, fetched)
    const r = new Recording()
    const p = await prepare(inputs([arm64, s390x]), host(), src, r)
    expect(src.asked).toEqual([[arm64, s390x]])
    expect(r.prepared).toBe(1)
    expect(p.emulators).toBe(fetched)
    expect(p.interpreter(arm64)).toBe('/run/setup-qemu/k/qemu-aarch64')
  })

  it('takes all as every platform the source has that may not be native', async () => {
    const src = source(undefined, emulators(['arm64', '386', 'amd64', 's390x']))
    const p = await prepare(inputs('all'), host(), src, new Recording())
    expect(src.asked).toEqual(['all'])
    expect(p.decisions.map(d => d.platform.arch)).toEqual(['arm64', 's390x'])
  })

  it('does not take a cache entry with only some emulators for what the source lacks', async () => {
    const src = source(emulators(['arm64'], false), emulators(['arm64', 's390x']))
    const p = await prepare(inputs([arm64, s390x]), host(), src, new Recording())
    expect(src.asked).toEqual([[arm64, s390x]])
    expect(p.decisions.map(d => d.action)).toEqual(['add', 'add'])
  })
})
