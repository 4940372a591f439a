/**
 * Faults in the middle of the work: a helper killed part-way, an engine error after or before the
 * container ran, a helper past its time limit, and post steps of jobs that overlap. Nothing is left
 * half-done, nothing is left running, and the message names the real cause.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { pausingHelper, slowHelper } from './images.js'
import { BM, HELPER, IMG, act, clearEntries, docker, entries, env, leftContainers, register, snapshot, useHost } from './host.js'

useHost()

const ARM64 = '\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00'
const RISCV64 = '\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xf3\\x00'
const MASK = '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff'
/** Entries as Debian leaves them: no F, an interpreter path no container has. */
const stale = (): void => {
  register(`:qemu-aarch64:M::${ARM64}:${MASK}:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:P`)
  register(`:qemu-riscv64:M::${RISCV64}:${MASK}:/usr/libexec/qemu-binfmt/riscv64-binfmt-P:P`)
}
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))
const actionProcesses = (): string => spawnSync('pgrep', ['-af', 'dist/index.js'], { encoding: 'utf8' }).stdout.trim()

describe('a helper killed part-way (docker kill)', () => {
  it('reports what was lost, and cleanup puts it back', async () => {
    clearEntries()
    stale()
    const before = snapshot()
    const helper = pausingHelper(3)
    const running = act('killed', {
      platforms: 'arm64,riscv64',
      cleanup: 'true',
      image: IMG.image,
      'helper-image': helper,
      ...HELPER
    })
    // wait for the first change, the removal of qemu-aarch64, then kill the helper in its pause
    for (
      let i = 0;
      i < 600 && entries().includes('qemu-aarch64') && fs.readFileSync(`${BM}/qemu-aarch64`, 'utf8').includes('libexec');
      i++
    )
      await sleep(50)
    const ids = leftContainers()
    expect(ids).toHaveLength(1)
    docker('kill', ...ids)
    const r = await running
    expect(r.rc).toBe(1)
    expect(r.mainLog).toMatch(/the helper stopped before this change \(exit code 137/)
    expect(r.mainLog).toMatch(/::warning::binfmt_misc no longer has qemu-aarch64.*The post step puts back what it can/)
    expect(r.postRc).toBe(0)
    expect(snapshot()).toBe(before)
    expect(leftContainers()).toEqual([])
    clearEntries()
  })
})

describe('an engine error', () => {
  it('an exit 125 from a bind-mount error is the error named, and is not taken for a privilege refusal', async () => {
    clearEntries()
    // the real engine, asked for a bind mount whose source does not exist
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-wrapper-'))
    const real = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim()
    fs.writeFileSync(
      path.join(bin, 'docker'),
      `#!/bin/sh\nif [ "$1" = run ]; then shift; exec "${real}" run --mount type=bind,source=/nonexistent/setup-qemu,target=/x "$@"; fi\nexec "${real}" "$@"\n`,
      { mode: 0o755 }
    )
    const r = await act('bind125', { platforms: 'arm64', ...IMG, ...HELPER }, { env: { PATH: `${bin}:${process.env.PATH}` } })
    expect(r.rc).toBe(1)
    expect(r.mainLog).toMatch(
      /::error::the helper container failed \(docker run exit code 125\): .*bind source path does not exist/
    )
    expect(r.mainLog).not.toContain('trying --privileged')
    expect(r.mainLog).not.toContain('privilege it needs')
    expect(entries()).toEqual([])
  })
})

describe('a helper past its time limit', () => {
  it('is stopped and removed: no process, no container, and no entry appears later', async () => {
    clearEntries()
    const r = await act('slow', { platforms: 'arm64', timeout: 3, image: IMG.image, 'helper-image': slowHelper(8), ...HELPER })
    expect(r.rc).toBe(1)
    expect(r.mainLog).toMatch(/did not finish within 3s\. .*The helper container setup-qemu-\S+ was stopped and removed/)
    expect(leftContainers()).toEqual([])
    expect(actionProcesses()).toBe('')
    await sleep(8000)
    expect(entries()).toEqual([])
  })
})

describe('post steps of overlapping jobs', () => {
  it("one job's cleanup leaves alone the entry another job has put in place since", async () => {
    clearEntries()
    register(`:qemu-riscv64:M::${RISCV64}:${MASK}:/usr/libexec/qemu-binfmt/riscv64-binfmt-P:P`)
    fs.writeFileSync(`${BM}/qemu-riscv64`, '0')
    const inputsA = { platforms: 'riscv64', cleanup: 'true', ...IMG }
    const a = await act('jobA', inputsA, { post: false })
    expect(a.rc).toBe(0)
    // job B registers its own emulators (another source, so another path) with reset
    const b = await act(
      'jobB',
      {
        platforms: 'riscv64',
        reset: 'true',
        source: 'download',
        'download-url': `${env.HTTP}/qemu_linux-{arch}.tar.gz`,
        'download-sha256': env.TARBALL_SHA256,
        'helper-image': IMG['helper-image']
      },
      { post: false }
    )
    expect(b.rc).toBe(0)
    const theirs = fs.readFileSync(`${BM}/qemu-riscv64`, 'utf8')
    const post = await act('jobA', inputsA, { post: 'only' })
    expect(post.postRc).toBe(0)
    // A's own entry is gone, B's stands: A removes nothing, restores nothing over it, switches nothing off
    expect(post.postLog).toMatch(/restore|nothing to clean up/)
    expect(fs.readFileSync(`${BM}/qemu-riscv64`, 'utf8')).toBe(theirs)
    expect(theirs).toMatch(/^enabled/)
    clearEntries()
  })
})

describe('an F entry put back by the post step', () => {
  it('is checked by its probe, and a warning says when the file at its path is not the one it had open', async () => {
    clearEntries()
    // registered with F while the path held QEMU; the file there has been replaced since
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'f-restore-'))
    const emulator = path.join(dir, 'qemu-aarch64')
    fs.copyFileSync('/usr/bin/qemu-aarch64-static', emulator)
    fs.chmodSync(emulator, 0o755)
    register(`:qemu-aarch64:M::${ARM64}:${MASK}:${emulator}:F`)
    fs.rmSync(emulator)
    fs.writeFileSync(emulator, '#!/bin/sh\nexit 3\n', { mode: 0o755 })
    const r = await act('f-restore', { platforms: 'arm64', reset: 'true', cleanup: 'true', ...IMG })
    expect(r.rc).toBe(0)
    expect(r.postRc).toBe(0)
    expect(r.postLog).toContain('restore qemu-aarch64: ok')
    expect(r.postLog).toMatch(
      /::warning::linux\/arm64 programs no longer run after restoring the entry for them \(wrong exit code: exit code 3.*put back by its path/
    )
    clearEntries()
  })
})
