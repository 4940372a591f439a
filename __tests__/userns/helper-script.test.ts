/**
 * The helper container's script, run as a container runs it: busybox's sh, chrooted into a root that
 * holds only busybox, with its own /proc and the host's /dev, writing the private binfmt_misc instance of this user
 * namespace. Every verb says the kernel it runs on, and stops before reading or writing another's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { clearInstance, privateInstance } from './instance.js'
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { BINFMT_MISC, bootId, readEntries } from '../../src/binfmt/table.js'
import { parseOutput, scriptArgs, verbArgs } from '../../src/helper/protocol.js'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-qemu-helper-root-'))
const LINE = ':setup-qemu-test:M::\\x01\\x02\\x03zz:\\xff\\xff\\xff\\xff\\xff:/bin/true:'

beforeAll(() => {
  privateInstance()
  fs.mkdirSync(path.join(root, 'bin'))
  fs.mkdirSync(path.join(root, 'proc'))
  fs.mkdirSync(path.join(root, 'dev'))
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'))
  fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755)
  for (const applet of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    if (applet !== 'busybox') fs.symlinkSync('busybox', path.join(root, 'bin', applet))
  }
})
afterEach(clearInstance)
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

/** The script with these verb arguments, in a pid namespace of its own (for its /proc), chrooted. */
function helper(verb: string[]): { status: number; stdout: string } {
  const r = spawnSync(
    'unshare',
    [
      '--pid',
      '--fork',
      '--mount',
      'sh',
      '-c',
      'root=$1; shift; mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" && exec chroot "$root" /bin/sh "$@"',
      'sh',
      root,
      ...scriptArgs('none'),
      ...verb
    ],
    { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }
  )
  return { status: r.status ?? -1, stdout: r.stdout }
}

describe("the helper's script", () => {
  it('writes on the kernel it was told, saying its boot id', async () => {
    const r = helper(verbArgs('write', await bootId(), ['add', 'setup-qemu-test', LINE]))
    expect(parseOutput(r.stdout).kernel).toBe(await bootId())
    expect([...parseOutput(r.stdout).answers]).toEqual([[0, { status: 'ok' }]])
    expect(r.stdout.trim().split('\n').at(-1)).toBe('done')
    expect([...(await readEntries()).keys()]).toEqual(['setup-qemu-test'])
  })

  it('writes nothing on another kernel, and says so', async () => {
    const r = helper(verbArgs('write', '00000000-0000-0000-0000-000000000000', ['add', 'setup-qemu-test', LINE]))
    expect(r.status).toBe(7)
    expect(parseOutput(r.stdout).otherKernel).toBe(true)
    expect(parseOutput(r.stdout).kernel).toBe(await bootId())
    expect(parseOutput(r.stdout).answers.size).toBe(0)
    expect(fs.readdirSync(BINFMT_MISC).sort()).toEqual(['register', 'status'])
  })

  it('looks on any kernel when told none, and reports which', async () => {
    fs.writeFileSync(path.join(BINFMT_MISC, 'register'), LINE)
    const r = helper(verbArgs('look', undefined, []))
    const look = parseOutput(r.stdout).look
    expect(look).toMatchObject({ bootId: await bootId(), enabled: true, changed: false })
    expect([...look.entries.keys()]).toEqual(['setup-qemu-test'])
  })
})
