import { describe, expect, it } from '@jest/globals'
import { checkCleanup, plannedCleanup, type CleanupState } from '../src/state.js'
import { parseEntry } from '../src/binfmt/entry.js'

const good: CleanupState = {
  added: ['qemu-aarch64'],
  removed: [
    {
      name: 'qemu-aarch64',
      enabled: false,
      interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P',
      flags: 'P',
      offset: 0,
      magic: '7f45',
      mask: 'ffff'
    }
  ],
  interpreterDir: '/run/setup-qemu/0123456789ab',
  native: ['amd64', '386'],
  registrar: 'container',
  helperImage: 'busybox@sha256:' + 'a'.repeat(64),
  privilege: 'auto',
  mode: 'least',
  timeout: 600
}

describe('the cleanup state post is handed', () => {
  it('is taken when every field is what main could have saved', () => {
    expect(checkCleanup(JSON.parse(JSON.stringify(good)))).toEqual(good)
    const jar = { name: 'jar', enabled: true, interpreter: '/usr/bin/jexec', flags: '', offset: 0, extension: '.jar' }
    expect(checkCleanup({ ...good, removed: [jar], mode: undefined }).removed).toEqual([jar])
  })

  it.each([
    ['not an object', '[]', /not an object/],
    ['an entry name with a line break', { ...good, added: ['qemu-x\r::warning::x'] }, /names entries that are not well-formed/],
    [
      'a removed entry with a bad interpreter',
      { ...good, removed: [{ ...good.removed[0], interpreter: '/a:b' }] },
      /not well-formed/
    ],
    ['a removed entry with unknown flags', { ...good, removed: [{ ...good.removed[0], flags: 'PX' }] }, /not well-formed/],
    ['a magic that is not hex', { ...good, removed: [{ ...good.removed[0], magic: 'zz' }] }, /not well-formed/],
    ['a mask of another length', { ...good, removed: [{ ...good.removed[0], mask: 'ff' }] }, /not well-formed/],
    ['an unknown native platform', { ...good, native: ['vax'] }, /unknown native platforms/],
    ['a privilege of its own', { ...good, privilege: 'yes' }, /bad privilege/],
    ['a mode of its own', { ...good, mode: 'root' }, /bad privilege mode/],
    ['no time limit', { ...good, timeout: 0 }, /bad time limit/],
    ['a relative directory', { ...good, interpreterDir: 'run' }, /bad directory/],
    ['no registrar', { ...good, registrar: undefined }, /names no registrar/],
    ['a registrar that is not a plain word', { ...good, registrar: 'runner; rm -rf /' }, /names no registrar/],
    ['sudo for a helper', { ...good, sudo: true }, /bad sudo flag/],
    ['sudo that is not a flag', { ...good, registrar: 'runner', sudo: 'yes' }, /bad sudo flag/],
    ['a boot id with a line break', { ...good, bootId: 'ab\n::warning::x' }, /bad boot id/],
    [
      'an engine for the runner',
      { ...good, registrar: 'runner', endpoint: { host: 'unix:///var/run/docker.sock' } },
      /bad engine endpoint/
    ],
    ['an endpoint with both ways', { ...good, endpoint: { host: 'tcp://a:1', context: 'b' } }, /bad engine endpoint/],
    ['a host with a line break', { ...good, endpoint: { host: 'tcp://a:1\nx' } }, /bad engine endpoint/],
    ['a context with a slash', { ...good, endpoint: { context: '../x' } }, /bad engine endpoint/]
  ])('is refused with %s', (_, s, why) => {
    expect(() => checkCleanup(typeof s === 'string' ? JSON.parse(s) : s)).toThrow(why)
  })

  it('keeps how main wrote the table, the kernel it changed and the engine it reached', () => {
    const helper = { ...good, bootId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', endpoint: { host: 'ssh://ci@builder' } }
    expect(checkCleanup(JSON.parse(JSON.stringify(helper)))).toEqual(helper)
    const runner = { ...good, registrar: 'runner' as const, sudo: true as const, mode: undefined, bootId: 'b' }
    expect(checkCleanup(JSON.parse(JSON.stringify(runner)))).toEqual({ ...runner, mode: undefined })
    expect(checkCleanup({ ...good, endpoint: { context: 'default' } }).endpoint).toEqual({ context: 'default' })
  })

  it('is planned from the changes before any is made: names to add, entries to remove as they are', () => {
    const stale = parseEntry('qemu-aarch64', 'disabled\ninterpreter /x\nflags: P\noffset 0\nmagic 7f\nmask ff\n')
    const planned = plannedCleanup(
      [
        { op: 'remove', name: 'qemu-aarch64' },
        { op: 'add', name: 'qemu-aarch64', line: ':qemu-aarch64:M::\\x7f::/y:F' },
        { op: 'remove', name: 'gone-already' }
      ],
      new Map([[stale.name, stale]])
    )
    expect(planned).toEqual({ added: ['qemu-aarch64'], removed: [stale] })
  })
})
