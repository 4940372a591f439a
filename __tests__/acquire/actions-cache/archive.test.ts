/**
 * The archive functions the cache library runs in place of its own `tar -P`: hostile archives (an
 * absolute member, a `../` member, a symlink or hard link out of the directory, a device) are refused
 * whole, with nothing written anywhere; only regular files and directories below the entry's one path
 * are extracted, into a directory the restore chose; an abandoned restore writes nothing; and nothing
 * works outside a scope of this action. Both compressions the library uses, zstd and gzip, and the plain tar
 * createTar writes.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { gzipSync } from 'node:zlib'
import {
  createTar,
  extractTar,
  listTar,
  memberProblem,
  withinScope,
  type ArchiveScope
} from '../../../src/acquire/actions-cache/archive.js'
import { tar, type Member } from '../registry/tarball.js'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sq-archive-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
let n = 0
const fresh = (name: string): string => fs.mkdtempSync(path.join(root, `${name}-${++n}-`))

const ONLY = 'setup-qemu-image'
const debugLines: string[] = []
const scopeIn = (parent: string, extra: Partial<ArchiveScope> = {}): ArchiveScope => ({
  dir: path.join(parent, 'entry'),
  only: ONLY,
  maxBytes: 1 << 20,
  abandoned: false,
  debug: m => void debugLines.push(m),
  ...extra
})

/**
 * The archive as the library stores it, zstd (the default where zstd is installed) or gzip; or as createTar
 * writes it, a plain tar under the zstd name.
 */
function archive(members: readonly Member[], method: 'zstd-without-long' | 'gzip' | 'plain'): string {
  const dir = fresh('archive')
  const plain = tar(members)
  if (method === 'plain') {
    fs.writeFileSync(path.join(dir, 'cache.tzst'), plain)
    return path.join(dir, 'cache.tzst')
  }
  if (method === 'gzip') {
    fs.writeFileSync(path.join(dir, 'cache.tgz'), gzipSync(plain))
    return path.join(dir, 'cache.tgz')
  }
  fs.writeFileSync(path.join(dir, 'cache.tar'), plain)
  execFileSync('zstd', ['-q', '-o', path.join(dir, 'cache.tzst'), path.join(dir, 'cache.tar')])
  return path.join(dir, 'cache.tzst')
}

/** Every path under dir, files and directories, relative. */
const tree = (dir: string): string[] => (fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).sort() : [])

const GOOD: Member[] = [
  { name: `${ONLY}/`, type: '5' },
  { name: `${ONLY}/sha256/`, type: '5' },
  { name: `${ONLY}/sha256/aa`, body: 'blob a' },
  { name: `./${ONLY}/sha256/bb`, body: 'blob b' }
]

describe.each(['zstd-without-long', 'gzip', 'plain'] as const)('%s archives', method => {
  it('extracts regular files and directories under the scope directory, which it makes itself', async () => {
    const parent = fresh('good')
    const scope = scopeIn(parent)
    await withinScope(scope, async () => extractTar(archive(GOOD, method), method))
    expect(scope.refused).toBeUndefined()
    expect(scope.started).toBe(true)
    expect(tree(scope.dir)).toEqual([ONLY, `${ONLY}/sha256`, `${ONLY}/sha256/aa`, `${ONLY}/sha256/bb`])
    expect(fs.readFileSync(path.join(scope.dir, ONLY, 'sha256', 'bb'), 'utf8')).toBe('blob b')
    expect(fs.statSync(path.join(scope.dir, ONLY, 'sha256', 'aa')).mode & 0o777).toBe(0o600)
  })

  describe('a hostile member refuses the whole archive, and nothing is written anywhere', () => {
    const outside = fresh('outside')
    const escapes: [string, Member[], RegExp][] = [
      ['an absolute path', [{ name: path.join(outside, 'absolute'), body: 'x' }], /has an absolute path/],
      ['a ../ member', [{ name: `${ONLY}/../../dotdot`, body: 'x' }], /has a "\.\." part/],
      ['a ../ member at the top', [{ name: '../dotdot-top', body: 'x' }], /has a "\.\." part/],
      [
        'a symlink, then a file through it',
        [
          { name: `${ONLY}/link`, type: '2', linkname: outside },
          { name: `${ONLY}/link/through-symlink`, body: 'x' }
        ],
        /is a symbolic link/
      ],
      [
        'a hard link to a file outside',
        [{ name: `${ONLY}/hard`, type: '1', linkname: path.join(outside, 'target') }],
        /is a hard link/
      ],
      ['a character device', [{ name: `${ONLY}/null`, type: '3' }], /is a character device/],
      ['a fifo', [{ name: `${ONLY}/pipe`, type: '6' }], /is a fifo/],
      ['a member beside the one path', [{ name: 'setup-qemu-other/x', body: 'x' }], /is outside setup-qemu-image\//]
    ]
    it.each(escapes)('%s', async (_, hostile, why) => {
      fs.writeFileSync(path.join(outside, 'target'), 'the original')
      const parent = fresh('hostile')
      const scope = scopeIn(parent)
      // a good member first: a refusal writes nothing at all, not even what came before
      await withinScope(scope, async () => extractTar(archive([...GOOD, ...hostile], method), method))
      expect(scope.refused).toMatch(why)
      expect(tree(parent)).toEqual([])
      expect(tree(outside)).toEqual(['target'])
      expect(fs.readFileSync(path.join(outside, 'target'), 'utf8')).toBe('the original')
      for (const name of ['dotdot', 'dotdot-top']) {
        expect(fs.existsSync(path.join(parent, '..', '..', name))).toBe(false)
        expect(fs.existsSync(path.join(process.cwd(), '..', name))).toBe(false)
      }
    })
  })

  it('refuses an archive whose files are more than the scope allows', async () => {
    const parent = fresh('big')
    const scope = scopeIn(parent, { maxBytes: 10 })
    await withinScope(scope, async () => extractTar(archive(GOOD, method), method))
    expect(scope.refused).toBe('its files are more than the 10 bytes an entry may hold')
    expect(tree(parent)).toEqual([])
  })

  it('does nothing at all for a restore already abandoned, not even reading the archive', async () => {
    const parent = fresh('abandoned')
    const scope = scopeIn(parent, { abandoned: true })
    await withinScope(scope, async () => extractTar(path.join(parent, 'no-such-archive'), method))
    expect(scope.started).toBeUndefined()
    expect(scope.refused).toBeUndefined()
    expect(tree(parent)).toEqual([])
  })

  it('stops a restore abandoned while it extracts, and removes what it wrote', async () => {
    const parent = fresh('midway')
    let asked = 0
    const scope = scopeIn(parent)
    // abandoned after the check and the first member: as a limit passing mid-extraction
    Object.defineProperty(scope, 'abandoned', { get: () => ++asked > 3, set: () => undefined })
    await withinScope(scope, async () => extractTar(archive(GOOD, method), method))
    expect(asked).toBeGreaterThan(3)
    expect(scope.refused).toBeUndefined()
    expect(tree(parent)).toEqual([])
  })

  it('makes nothing when its directory is gone (the restore was abandoned and its parent removed)', async () => {
    const parent = fresh('gone')
    const scope = scopeIn(path.join(parent, 'removed'))
    await withinScope(scope, async () => extractTar(archive(GOOD, method), method))
    expect(tree(parent)).toEqual([])
  })

  it('saves what the scope names from its directory, files and directories only, and restores it the same', async () => {
    const from = fresh('save')
    fs.mkdirSync(path.join(from, ONLY, 'sha256'), { recursive: true })
    fs.writeFileSync(path.join(from, ONLY, 'sha256', 'cc'), 'blob c')
    fs.symlinkSync('/etc/passwd', path.join(from, ONLY, 'sha256', 'link'))
    fs.writeFileSync(path.join(from, 'beside'), 'not saved')
    const folder = fresh('folder')
    // the library names a method: zstd where it finds the zstd command
    const named = method === 'plain' ? 'zstd' : method
    await withinScope(scopeIn(from, { dir: from }), async () => createTar(folder, ['../../anything'], named))
    const file = path.join(folder, method === 'gzip' ? 'cache.tgz' : 'cache.tzst')
    // a plain tar: what it holds is compressed already
    expect(fs.readFileSync(file).subarray(257, 262).toString()).toBe('ustar')
    const back = scopeIn(fresh('back'))
    await withinScope(back, async () => extractTar(file, method))
    expect(back.refused).toBeUndefined()
    expect(tree(back.dir)).toEqual([ONLY, `${ONLY}/sha256`, `${ONLY}/sha256/cc`])
  })

  it('lists the members to the debug log, as the library asks when debugging', async () => {
    debugLines.length = 0
    await withinScope(scopeIn(fresh('list')), async () => listTar(archive(GOOD, method), method))
    expect(debugLines).toEqual([
      `the archive holds: Directory ${ONLY}/, Directory ${ONLY}/sha256/, File ${ONLY}/sha256/aa, File ./${ONLY}/sha256/bb`
    ])
  })
})

it('refuses what is not an archive', async () => {
  const parent = fresh('garbage')
  const file = path.join(parent, 'cache.tzst')
  fs.writeFileSync(file, 'not zstd at all')
  const scope = scopeIn(parent)
  await withinScope(scope, async () => extractTar(file, 'zstd-without-long'))
  expect(scope.refused).toMatch(/^it is not an archive this action wrote \(/)
  expect(tree(parent)).toEqual(['cache.tzst'])
})

it('reads and writes no archive outside a restore or save of this action', async () => {
  const file = archive(GOOD, 'gzip')
  const folder = fresh('none')
  await expect(extractTar(file, 'gzip')).rejects.toThrow(/only by a restore or save of this action/)
  await expect(listTar(file, 'gzip')).rejects.toThrow(/only by a restore or save of this action/)
  await expect(createTar(folder, ['x'], 'gzip')).rejects.toThrow(/only by a restore or save of this action/)
  expect(tree(folder)).toEqual([])
})

describe('a member', () => {
  it.each([
    [`${ONLY}/sha256/aa`, 'File', undefined],
    [`./${ONLY}/x`, 'File', undefined],
    [`${ONLY}`, 'Directory', undefined],
    [`${ONLY}/a\0b`, 'File', /has a NUL in its name/],
    ['/etc/passwd', 'File', /has an absolute path/],
    [`${ONLY}/a/../../b`, 'File', /has a "\.\." part/],
    ['', 'File', /is outside setup-qemu-image\//],
    [`${ONLY}x/a`, 'File', /is outside setup-qemu-image\//],
    [`${ONLY}/dev`, 'BlockDevice', /is a block device/],
    [`${ONLY}/odd`, 'GNUDumpDir', /is of type GNUDumpDir/]
  ])('%j (%s)', (name, type, problem) => {
    const got = memberProblem(name, type, ONLY)
    if (problem) expect(got).toMatch(problem)
    else expect(got).toBeUndefined()
  })
})
