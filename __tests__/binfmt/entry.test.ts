import { describe, expect, it } from '@jest/globals'
import {
  defaultMask,
  entryMatches,
  isPlainName,
  lineForEntry,
  magicOf,
  parseEntry,
  registrationLine,
  sameAs,
  type Entry
} from '../../src/binfmt/entry.js'
import { PLATFORMS, byArch } from '../../src/platform/platforms.js'
import { buildProbe, probeHeader } from '../../src/platform/elf.js'
import { decodeLine, guardNative, NativeFormatError } from '../../src/register/registrar.js'

// What the kernel shows for the upstream arm64 entry (binfmt-facts.md)
const ARM64_MAGIC = '7f454c460201010000000000000000000200b700'
const ARM64_MASK = 'ffffffffffffff00fffffffffffffffffeffffff'

describe('registration lines', () => {
  it('encodes arm64 as upstream does, with escapes as text', () => {
    const line = registrationLine(byArch('arm64'), '/run/setup-qemu/abc/qemu-aarch64')
    expect(line).toBe(
      ':qemu-aarch64:M::' +
        '\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:' +
        '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:' +
        '/run/setup-qemu/abc/qemu-aarch64:POCF'
    )
    expect(magicOf(byArch('arm64')).toString('hex')).toBe(ARM64_MAGIC)
    expect(defaultMask(byArch('arm64')).toString('hex')).toBe(ARM64_MASK)
  })

  it.each(PLATFORMS.map(p => [p.arch, p] as const))('%s: no raw NUL or colon inside a field, mask as long as magic', (_, p) => {
    const line = registrationLine(p, `/x/qemu-${p.cpu}`)
    expect(line).not.toMatch(/\u0000/)
    expect(line.split(':')).toHaveLength(8)
    expect(line.length).toBeGreaterThanOrEqual(11)
    expect(line.length).toBeLessThanOrEqual(1920)
    expect(defaultMask(p)).toHaveLength(magicOf(p).length)
  })

  it('puts the byte-swapped fields of big-endian platforms where the kernel reads them', () => {
    expect(magicOf(byArch('s390x')).toString('hex')).toBe('7f454c46020201000000000000000000' + '00020016')
    expect(defaultMask(byArch('s390x')).subarray(16).toString('hex')).toBe('fffeffff')
    expect(magicOf(byArch('loong64')).subarray(18).toString('hex')).toBe('0201')
    expect(defaultMask(byArch('mips64le'))[8]).toBe(0)
    expect(defaultMask(byArch('ppc64le'))[19]).toBe(0)
  })

  it('refuses interpreters and flags that would break the line', () => {
    const p = byArch('arm64')
    expect(() => registrationLine(p, '/a:b')).toThrow(/must not contain/)
    expect(() => registrationLine(p, '/a b')).toThrow(/must not contain/)
    expect(() => registrationLine(p, `/${'a'.repeat(127)}`)).toThrow(/too long/)
    expect(() => registrationLine(p, '/a', 'FX')).toThrow(/flags/)
    expect(registrationLine(p, '/a', 'F').endsWith(':/a:F')).toBe(true)
  })
})

describe('entry files', () => {
  const text = `enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: POCF\noffset 0\nmagic ${ARM64_MAGIC}\nmask ${ARM64_MASK}\n`

  it('parses what the kernel shows', () => {
    const e = parseEntry('qemu-aarch64', text)
    expect(e).toEqual({
      name: 'qemu-aarch64',
      enabled: true,
      interpreter: '/usr/bin/qemu-aarch64',
      flags: 'POCF',
      offset: 0,
      magic: ARM64_MAGIC,
      mask: ARM64_MASK
    })
    expect(parseEntry('x', text.replace('enabled', 'disabled')).enabled).toBe(false)
    expect(parseEntry('jar', 'enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n').extension).toBe('.jar')
  })

  it('turns an entry back into the line that registers it again', () => {
    const e = parseEntry('qemu-aarch64', text)
    expect(lineForEntry(e)).toBe(registrationLine(byArch('arm64'), '/usr/bin/qemu-aarch64'))
    expect(decodeLine(lineForEntry(e) ?? '')).toMatchObject({ magic: ARM64_MAGIC, mask: ARM64_MASK, flags: 'POCF' })
    // the kernel shows an extension with its dot, and adds one of its own when registering
    expect(lineForEntry(parseEntry('jar', 'enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n'))).toBe(
      ':jar:E::jar::/usr/bin/jexec:'
    )
  })

  it('says when an entry could not be put back: its line would be longer than the kernel takes', () => {
    const long: Entry = {
      name: 'qemu-long',
      enabled: true,
      interpreter: '/usr/bin/x',
      flags: 'F',
      offset: 0,
      magic: 'ab'.repeat(240),
      mask: 'ff'.repeat(240)
    }
    expect(lineForEntry(long)).toBeUndefined()
    expect(lineForEntry({ ...long, magic: 'ab'.repeat(200), mask: 'ff'.repeat(200) })?.length).toBeLessThanOrEqual(1920)
  })

  it('takes plain names only as names it may touch or print as they are', () => {
    for (const ok of ['qemu-aarch64', 'python3.11', 'jar', 'a_b+c']) expect(isPlainName(ok)).toBe(true)
    for (const bad of ['qemu-x\r::save-state name=cleanup::{}', 'qemu-a b', '', 'x'.repeat(65), 'a:b'])
      expect(isPlainName(bad)).toBe(false)
  })

  it("never takes the table's own files or the directory's dot names for an entry", () => {
    for (const bad of ['status', 'register', '.', '..']) expect(isPlainName(bad)).toBe(false)
    expect(isPlainName('.hidden')).toBe(true)
  })

  it('knows our own registration and tells it from others', () => {
    const e = parseEntry('qemu-aarch64', text)
    expect(sameAs(e, byArch('arm64'), '/usr/bin/qemu-aarch64')).toBe(true)
    expect(sameAs(e, byArch('arm64'), '/other/qemu-aarch64')).toBe(false)
    expect(sameAs({ ...e, flags: 'F' }, byArch('arm64'), '/usr/bin/qemu-aarch64')).toBe(false)
    expect(sameAs({ ...e, enabled: false }, byArch('arm64'), '/usr/bin/qemu-aarch64')).toBe(false)
  })
})

describe('probes', () => {
  it.each(PLATFORMS.map(p => [p.arch, p] as const))('%s: a well-formed ELF that only its own entry claims', (_, p) => {
    const probe = buildProbe(p)
    expect(probe.subarray(0, 4).toString('latin1')).toBe('\x7fELF')
    expect(probe[4]).toBe(p.elf.bits === 64 ? 2 : 1)
    expect(probe[5]).toBe(p.elf.endian === 'le' ? 1 : 2)
    const read16 = (o: number): number => (p.elf.endian === 'le' ? probe.readUInt16LE(o) : probe.readUInt16BE(o))
    const read32 = (o: number): number => (p.elf.endian === 'le' ? probe.readUInt32LE(o) : probe.readUInt32BE(o))
    expect(read16(16)).toBe(2) // ET_EXEC
    expect(read16(18)).toBe(p.elf.machine)
    // the entry point is the code right after the one program header
    const entry =
      p.elf.bits === 64 ? Number(p.elf.endian === 'le' ? probe.readBigUInt64LE(24) : probe.readBigUInt64BE(24)) : read32(24)
    expect(entry - 0x400000).toBe(probe.length - p.code.length)
    expect([...probe.subarray(probe.length - p.code.length)]).toEqual([...p.code])

    const own = parseEntry('own', `enabled\nmagic ${magicOf(p).toString('hex')}\nmask ${defaultMask(p).toString('hex')}\n`)
    expect(entryMatches(own, probe)).toBe(true)
    for (const q of PLATFORMS.filter(x => x !== p)) {
      const other = parseEntry('other', `enabled\nmagic ${magicOf(q).toString('hex')}\nmask ${defaultMask(q).toString('hex')}\n`)
      expect(entryMatches(other, probe)).toBe(false)
    }
  })
})

describe('matching entries as the kernel does', () => {
  it('sees an entry whose magic is longer than 20 bytes', () => {
    const arm64 = byArch('arm64')
    // ELF ident, e_type, e_machine and e_version: 24 bytes, as some tools register
    const e: Entry = {
      name: 'aarch64-vendor',
      enabled: true,
      interpreter: '/x',
      flags: '',
      offset: 0,
      magic: `${magicOf(arm64).toString('hex')}01000000`,
      mask: `${defaultMask(arm64).toString('hex')}ffffffff`
    }
    expect(entryMatches(e, probeHeader(arm64))).toBe(true)
    expect(entryMatches(e, probeHeader(byArch('amd64')))).toBe(false)
  })
})

describe('the native-format guard', () => {
  const add = (arch: string) => ({
    op: 'add' as const,
    name: `qemu-${byArch(arch).cpu}`,
    line: registrationLine(byArch(arch), '/x')
  })

  it('refuses any line that claims a native platform, whatever its name', () => {
    expect(() => guardNative([add('amd64')], [byArch('amd64')])).toThrow(NativeFormatError)
    expect(() => guardNative([add('arm64'), add('386')], [byArch('amd64'), byArch('386')])).toThrow(/linux\/386/)
    const disguised = {
      op: 'add' as const,
      name: 'innocent',
      line: registrationLine(byArch('amd64'), '/x').replace('qemu-x86_64', 'innocent')
    }
    expect(() => guardNative([disguised], [byArch('amd64')])).toThrow(/refusing to register innocent/)
    // a wider mask that also takes amd64 binaries
    const greedy = { op: 'add' as const, name: 'greedy', line: ':greedy:M::\\x7fELF:\\xff\\xff\\xff\\xff:/x:F' }
    expect(() => guardNative([greedy], [byArch('amd64')])).toThrow(NativeFormatError)
  })

  it('refuses a longer magic or an ET_DYN-only mask that claims native programs', () => {
    const amd64 = byArch('amd64')
    const esc = (b: Buffer): string => [...b].map(x => `\\x${x.toString(16).padStart(2, '0')}`).join('')
    // the first 24 bytes of a native position-independent program (ET_DYN, GNU OS ABI)
    const pie = Buffer.from('7f454c4602010103000000000000000003003e0001000000', 'hex')
    const mask24 = Buffer.alloc(24, 0xff)
    const long = { op: 'add' as const, name: 'long', line: `:long:M::${esc(pie)}:${esc(mask24)}:/x:F` }
    const dyn = {
      op: 'add' as const,
      name: 'dyn',
      line: `:dyn:M::${esc(pie.subarray(0, 20))}:${esc(Buffer.alloc(20, 0xff))}:/x:F`
    }
    const offset = { op: 'add' as const, name: 'offset', line: `:offset:M:18:\\x3e\\x00::/x:F` }
    for (const c of [long, dyn, offset]) expect(() => guardNative([c], [amd64])).toThrow(NativeFormatError)
    // the same shapes for another machine are let through
    const arm = Buffer.from(pie)
    arm[18] = 0xb7
    expect(() =>
      guardNative([{ op: 'add', name: 'long', line: `:long:M::${esc(arm)}:${esc(mask24)}:/x:F` }], [amd64])
    ).not.toThrow()
  })

  it('refuses a line it cannot read, and lets extension entries through', () => {
    expect(() => guardNative([{ op: 'add', name: 'x', line: ':x:Q::zz::/x:' }], [byArch('amd64')])).toThrow(NativeFormatError)
    expect(() => guardNative([{ op: 'add', name: 'jar', line: ':jar:E::jar::/usr/bin/jexec:' }], [byArch('amd64')])).not.toThrow()
  })

  it('lets foreign platforms and removals through', () => {
    expect(() =>
      guardNative([add('arm64'), add('s390x'), { op: 'remove', name: 'qemu-x86_64' }], [byArch('amd64')])
    ).not.toThrow()
  })
})
