import { afterAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { filesOf, tarOf } from '../../src/exec/tar.js'

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tar-test-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe('a tar stream of a few files', () => {
  it('is what tar extracts: names, contents and modes', () => {
    const long = `${'d'.repeat(90)}/${'e'.repeat(40)}/qemu-aarch64`
    const stream = tarOf([
      { name: 'run/setup-qemu/abc/qemu-aarch64', data: Buffer.from('elf bytes'), mode: 0o755 },
      { name: 'run/setup-qemu/abc/empty', data: Buffer.alloc(0), mode: 0o644 },
      { name: long, data: Buffer.alloc(1000, 7), mode: 0o700 }
    ])
    expect(stream.length % 512).toBe(0)
    const out = path.join(tmp, 'out')
    fs.mkdirSync(out)
    execFileSync('tar', ['-xf', '-', '-C', out], { input: stream })
    const emulator = path.join(out, 'run/setup-qemu/abc/qemu-aarch64')
    expect(fs.readFileSync(emulator, 'utf8')).toBe('elf bytes')
    expect(fs.statSync(emulator).mode & 0o777).toBe(0o755)
    expect(fs.statSync(path.join(out, 'run/setup-qemu/abc/empty')).size).toBe(0)
    expect(fs.readFileSync(path.join(out, long))).toEqual(Buffer.alloc(1000, 7))
  })

  it('refuses an absolute path or one that climbs out', () => {
    expect(() => tarOf([{ name: '/etc/x', data: Buffer.alloc(1), mode: 0o644 }])).toThrow(/not a relative path/)
    expect(() => tarOf([{ name: 'a/../../x', data: Buffer.alloc(1), mode: 0o644 }])).toThrow(/not a relative path/)
  })

  it("takes a directory's regular files only, under the target", async () => {
    const dir = path.join(tmp, 'emulators')
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'qemu-s390x'), 'x', { mode: 0o755 })
    fs.symlinkSync('/etc/passwd', path.join(dir, 'qemu-arm'))
    fs.mkdirSync(path.join(dir, 'sub'))
    const files = await filesOf(dir, '/run/setup-qemu/k')
    expect(files.map(f => f.name)).toEqual(['run/setup-qemu/k/qemu-s390x'])
  })
})
