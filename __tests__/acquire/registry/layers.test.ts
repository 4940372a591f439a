/**
 * Taking files out of layers: only wanted regular files land, only inside the directory, whatever a
 * hostile layer holds; whiteouts and later layers win as in the image's file system; a cap holds.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { gzipSync } from 'node:zlib'
import { RegistryError } from '../../../src/acquire/registry/errors.js'
import { LayerExtractor, memberPath } from '../../../src/acquire/registry/layers.js'
import { tar, tarGz, type Member } from './tarball.js'
import { tempDirs } from '../../helpers/tmp.js'

const tmp = tempDirs('sq-layers')

const qemu = (member: string): boolean => /^usr\/bin\/qemu-[a-z0-9_]+$/.test(member)

/** Lays the layers one over the other into a fresh directory inside a fresh parent. */
async function extract(layers: Buffer[], opts: { wanted?: (m: string) => boolean; maxBytes?: number; enough?: string[] } = {}) {
  const root = tmp('root')
  const dir = path.join(root, 'out')
  fs.mkdirSync(dir)
  const debug: string[] = []
  const x = new LayerExtractor(dir, opts.wanted ?? qemu, opts.maxBytes ?? 1 << 20, m => debug.push(m), opts.enough)
  for (const [i, layer] of layers.entries()) {
    const file = path.join(root, `layer-${i}`)
    fs.writeFileSync(file, layer)
    await x.add(file, `layer ${i}`)
    fs.rmSync(file)
  }
  return { root, dir, files: x.result(), debug, extractor: x }
}

/** Every path under dir, relative, with what it is. */
function tree(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      out.push(`${path.relative(dir, p)}${e.isDirectory() ? '/' : e.isSymbolicLink() ? '@' : ''}`)
      if (e.isDirectory()) walk(p)
    }
  }
  walk(dir)
  return out.sort()
}

describe('member paths', () => {
  it.each([
    ['usr/bin/qemu-aarch64', 'usr/bin/qemu-aarch64'],
    ['./usr/bin/qemu-aarch64', 'usr/bin/qemu-aarch64'],
    ['usr//bin/./qemu-arm', 'usr/bin/qemu-arm'],
    ['usr/bin/', 'usr/bin'],
    ['/usr/bin/qemu-aarch64', undefined],
    ['../usr/bin/qemu-aarch64', undefined],
    ['usr/bin/../../../etc/passwd', undefined],
    ['./', undefined],
    ['usr/bin/qemu\0x', undefined]
  ])('%j is %j', (name, expected) => {
    expect(memberPath(name)).toBe(expected)
  })
})

describe('a plain layer', () => {
  it('gives the wanted files with their content, mode and SHA-256, and nothing else', async () => {
    const members: Member[] = [
      { name: 'usr/', type: '5' },
      { name: 'usr/bin/', type: '5' },
      { name: 'usr/bin/qemu-aarch64', body: 'aarch64 emulator\n', mode: 0o755 },
      { name: './usr/bin/qemu-s390x', body: 's390x emulator\n', mode: 0o755 },
      { name: 'usr/bin/binfmt', body: 'installer\n', mode: 0o755 },
      { name: 'etc/motd', body: 'hi\n', mode: 0o644 }
    ]
    const { dir, files } = await extract([tarGz(members)])
    expect(tree(dir)).toEqual(['usr/', 'usr/bin/', 'usr/bin/qemu-aarch64', 'usr/bin/qemu-s390x'])
    expect(files.map(f => [f.path, f.size])).toEqual([
      ['usr/bin/qemu-aarch64', 17],
      ['usr/bin/qemu-s390x', 15]
    ])
    const f = files[0]
    expect(fs.readFileSync(f.file, 'utf8')).toBe('aarch64 emulator\n')
    expect(fs.statSync(f.file).mode & 0o777).toBe(0o755)
  })

  it('reads an uncompressed tar too, and the archive is one GNU tar reads the same way', async () => {
    const layer = tar([{ name: 'usr/bin/qemu-arm', body: 'arm\n' }])
    const { files } = await extract([layer])
    expect(files.map(f => f.path)).toEqual(['usr/bin/qemu-arm'])
    const root = tmp('gnu')
    fs.writeFileSync(path.join(root, 'l.tar'), layer)
    expect(execFileSync('tar', ['-tf', path.join(root, 'l.tar')], { encoding: 'utf8' })).toBe('usr/bin/qemu-arm\n')
  })
})

describe('a hostile layer', () => {
  it('never writes an absolute member or one with ..', async () => {
    const root = tmp('victim')
    const escaped = path.join(root, 'escaped')
    const { dir, files, debug } = await extract([
      tarGz([
        { name: escaped, body: 'absolute\n' },
        { name: '/usr/bin/qemu-aarch64', body: 'absolute qemu\n' },
        { name: '../../../../../../../../../../../..' + escaped, body: 'dotdot\n' },
        { name: 'usr/bin/../../qemu-x86_64', body: 'dotdot qemu\n' },
        { name: 'usr/bin/qemu-riscv64', body: 'fine\n' }
      ])
    ])
    expect(fs.existsSync(escaped)).toBe(false)
    expect(tree(dir)).toEqual(['usr/', 'usr/bin/', 'usr/bin/qemu-riscv64'])
    expect(files.map(f => f.path)).toEqual(['usr/bin/qemu-riscv64'])
    expect(debug.filter(d => d.includes('absolute or has a .. part'))).toHaveLength(4)
  })

  it('never follows or makes a symlink, in one layer or across layers', async () => {
    const outside = tmp('outside')
    const { dir, files } = await extract([
      tarGz([
        { name: 'usr/bin', type: '2', linkname: outside },
        { name: 'usr/bin/qemu-aarch64', body: 'through the link\n' },
        { name: 'usr/lib', type: '2', linkname: '../../..' }
      ]),
      tarGz([
        { name: 'usr/bin/qemu-arm', body: 'through the link, a layer later\n' },
        { name: 'opt/qemu-ppc64le', type: '2', linkname: '/etc/passwd' }
      ])
    ])
    expect(fs.readdirSync(outside)).toEqual([])
    expect(tree(dir)).toEqual([])
    expect(files).toEqual([])
  })

  it('takes a symlink named like an emulator as nothing', async () => {
    const { dir, files } = await extract([tarGz([{ name: 'usr/bin/qemu-aarch64', type: '2', linkname: '/bin/sh' }])])
    expect(tree(dir)).toEqual([])
    expect(files).toEqual([])
  })

  it('copies a hard link only from a file it took, never from outside', async () => {
    const { dir, files, debug } = await extract([
      tarGz([
        { name: 'usr/bin/qemu-arm', body: 'arm\n' },
        { name: 'usr/bin/qemu-armeb', type: '1', linkname: 'usr/bin/qemu-arm' },
        { name: 'usr/bin/qemu-aarch64', type: '1', linkname: '/etc/passwd' },
        { name: 'usr/bin/qemu-s390x', type: '1', linkname: '../../../../etc/passwd' },
        { name: 'usr/bin/qemu-x86_64', type: '1', linkname: 'etc/shadow' }
      ])
    ])
    expect(tree(dir)).toEqual(['usr/', 'usr/bin/', 'usr/bin/qemu-arm', 'usr/bin/qemu-armeb'])
    expect(fs.readFileSync(path.join(dir, 'usr/bin/qemu-armeb'), 'utf8')).toBe('arm\n')
    expect(fs.statSync(path.join(dir, 'usr/bin/qemu-armeb')).nlink).toBe(1)
    expect(files.map(f => f.path)).toEqual(['usr/bin/qemu-arm', 'usr/bin/qemu-armeb'])
    expect(debug.filter(d => d.includes('hard link'))).toHaveLength(3)
  })

  it('makes no device or fifo', async () => {
    const { dir, files } = await extract([
      tarGz([
        { name: 'usr/bin/qemu-aarch64', type: '3' },
        { name: 'usr/bin/qemu-arm', type: '6' },
        { name: 'usr/bin/qemu-s390x', type: '4' }
      ])
    ])
    expect(tree(dir)).toEqual([])
    expect(files).toEqual([])
  })

  it('stops at the size cap, and takes nothing more', async () => {
    const big = 'x'.repeat(3000)
    const run = extract(
      [
        tarGz([
          { name: 'usr/bin/qemu-arm', body: big },
          { name: 'usr/bin/qemu-aarch64', body: big }
        ])
      ],
      { maxBytes: 5000 }
    )
    await expect(run).rejects.toThrow(RegistryError)
    await expect(run).rejects.toThrow(/more than the 5000 bytes allowed/)
  })

  it('fails on an archive that breaks off, and discard() leaves nothing behind', async () => {
    const whole = tar([
      { name: 'usr/bin/qemu-arm', body: 'a'.repeat(4096) },
      { name: 'usr/bin/qemu-aarch64', body: 'b'.repeat(4096) }
    ])
    const root = tmp('cut')
    const dir = path.join(root, 'out')
    fs.mkdirSync(dir)
    const x = new LayerExtractor(dir, qemu, 1 << 20, () => undefined)
    fs.writeFileSync(path.join(root, 'l'), whole.subarray(0, 512 * 10))
    await expect(x.add(path.join(root, 'l'), 'the layer')).rejects.toThrow(RegistryError)
    await x.discard()
    expect(tree(dir).filter(p => !p.endsWith('/'))).toEqual([])
  })
})

describe('layers over layers', () => {
  it('lets a later layer replace a file, and a whiteout remove one', async () => {
    const { dir, files } = await extract([
      tarGz([
        { name: 'usr/bin/qemu-arm', body: 'old arm\n' },
        { name: 'usr/bin/qemu-aarch64', body: 'aarch64\n' },
        { name: 'usr/bin/qemu-s390x', body: 's390x\n' }
      ]),
      tarGz([
        { name: 'usr/bin/qemu-arm', body: 'new arm\n' },
        { name: 'usr/bin/.wh.qemu-aarch64', body: '' }
      ])
    ])
    expect(tree(dir)).toEqual(['usr/', 'usr/bin/', 'usr/bin/qemu-arm', 'usr/bin/qemu-s390x'])
    expect(fs.readFileSync(path.join(dir, 'usr/bin/qemu-arm'), 'utf8')).toBe('new arm\n')
    expect(files.map(f => [f.path, f.size])).toEqual([
      ['usr/bin/qemu-arm', 8],
      ['usr/bin/qemu-s390x', 6]
    ])
  })

  it('lets an opaque directory hide what lower layers had there, but not what its own layer adds', async () => {
    const { files } = await extract([
      tarGz([
        { name: 'usr/bin/qemu-arm', body: 'arm\n' },
        { name: 'usr/bin/qemu-aarch64', body: 'aarch64\n' }
      ]),
      tarGz([
        { name: 'usr/bin/qemu-s390x', body: 's390x\n' },
        { name: 'usr/bin/.wh..wh..opq', body: '' }
      ])
    ])
    expect(files.map(f => f.path)).toEqual(['usr/bin/qemu-s390x'])
  })

  it('lets a whiteout of a symlinked directory open the path again', async () => {
    const outside = tmp('outside2')
    const { files } = await extract([
      tarGz([{ name: 'usr/bin', type: '2', linkname: outside }]),
      tarGz([
        { name: 'usr/.wh.bin', body: '' },
        { name: 'usr/bin/', type: '5' },
        { name: 'usr/bin/qemu-arm', body: 'arm\n' }
      ])
    ])
    expect(files.map(f => f.path)).toEqual(['usr/bin/qemu-arm'])
    expect(fs.readdirSync(outside)).toEqual([])
  })
})

describe('a pull that names the files it needs', () => {
  const aarch64 = 'usr/bin/qemu-aarch64'
  const sha = (body: string): string => createHash('sha256').update(body).digest('hex')
  /** the wanted file, then a member the archive breaks off in */
  const cutAfter = (body: string): Buffer => {
    const whole = tar([
      { name: aarch64, body },
      { name: 'usr/bin/qemu-arm', body: 'a'.repeat(64 * 1024) }
    ])
    return whole.subarray(0, 512 * 2 + 512 * 20)
  }

  it('stops reading a layer once it gave them all: what follows in it is not needed', async () => {
    const body = 'b'.repeat(4096)
    const { files, debug } = await extract([gzipSync(cutAfter(body))], { enough: [aarch64] })
    expect(files.map(f => [f.path, sha(fs.readFileSync(f.file, 'utf8'))])).toEqual([[aarch64, sha(body)]])
    expect(debug).toContain('layer 0 gave every file needed: the rest of it is not read')
    // the same layer, read to its end, fails where it breaks off
    await expect(extract([gzipSync(cutAfter(body))])).rejects.toThrow(RegistryError)
  })

  it('still reads the layers above it whole: what they replace or remove goes', async () => {
    const replaced = await extract([cutAfter('low'), tar([{ name: aarch64, body: 'high' }])], { enough: [aarch64] })
    expect(fs.readFileSync(path.join(replaced.dir, aarch64), 'utf8')).toBe('high')
    const removed = await extract([cutAfter('low'), tar([{ name: 'usr/bin/.wh.qemu-aarch64' }])], { enough: [aarch64] })
    expect(removed.files).toEqual([])
  })

  it('reads to its end a layer that never gives them all', async () => {
    await expect(extract([cutAfter('x')], { enough: [aarch64, 'usr/bin/qemu-s390x'] })).rejects.toThrow(RegistryError)
  })

  it('takes the first member of a path it needs in a layer, where a whole read takes the last', async () => {
    const twice = tar([
      { name: aarch64, body: 'first' },
      { name: aarch64, body: 'second' }
    ])
    const named = await extract([twice], { enough: [aarch64] })
    expect(fs.readFileSync(path.join(named.dir, aarch64), 'utf8')).toBe('first')
    const whole = await extract([twice])
    expect(fs.readFileSync(path.join(whole.dir, aarch64), 'utf8')).toBe('second')
  })
})
