import { afterAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { errno, linkOrCopy } from '../src/fs.js'

const dirs: string[] = []
const tmp = (base = os.tmpdir()): string => {
  const d = fs.mkdtempSync(path.join(base, 'sq-fs-'))
  dirs.push(d)
  return d
}
afterAll(() => dirs.forEach(d => fs.rmSync(d, { recursive: true, force: true })))

const otherDevice = fs.existsSync('/dev/shm') && fs.statSync('/dev/shm').dev !== fs.statSync(os.tmpdir()).dev

describe('linkOrCopy', () => {
  it('links on one filesystem: the same file, not a copy', async () => {
    const d = tmp()
    fs.writeFileSync(path.join(d, 'a'), 'x', { mode: 0o755 })
    await linkOrCopy(path.join(d, 'a'), path.join(d, 'b'))
    expect(fs.statSync(path.join(d, 'b')).ino).toBe(fs.statSync(path.join(d, 'a')).ino)
  })

  ;(otherDevice ? it : it.skip)('copies across filesystems, executable', async () => {
    const a = path.join(tmp(), 'a')
    const b = path.join(tmp('/dev/shm'), 'b')
    fs.writeFileSync(a, 'x', { mode: 0o600 })
    await linkOrCopy(a, b)
    expect(fs.readFileSync(b, 'utf8')).toBe('x')
    expect(fs.statSync(b).ino).not.toBe(fs.statSync(a).ino)
    expect(fs.statSync(b).mode & 0o777).toBe(0o755)
  })

  it('fails when there is nothing to link, with the code', async () => {
    const d = tmp()
    const err = await linkOrCopy(path.join(d, 'missing'), path.join(d, 'b')).catch((e: unknown) => e)
    expect(errno(err)).toBe('ENOENT')
    expect(fs.existsSync(path.join(d, 'b'))).toBe(false)
  })
})

describe('errno', () => {
  it('is the code of an error that has one, and undefined otherwise', () => {
    expect(errno(Object.assign(new Error('x'), { code: 'EXDEV' }))).toBe('EXDEV')
    expect(errno(new Error('x'))).toBeUndefined()
    expect(errno(undefined)).toBeUndefined()
  })
})
