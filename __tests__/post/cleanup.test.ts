import { afterEach, describe, expect, it } from '@jest/globals'
import { parseEntry, type Entry } from '../../src/binfmt/entry.js'
import { cleanupPlan, mismatch, cleanup as post } from '../../src/post/cleanup.js'
import type { CleanupState } from '../../src/state.js'
import { printedBy } from '../helpers/output.js'

const dir = '/run/setup-qemu/0123456789ab'
const entry = (name: string, interpreter: string, enabled = true): Entry =>
  parseEntry(
    name,
    `${enabled ? 'enabled' : 'disabled'}\ninterpreter ${interpreter}\nflags: P\noffset 0\nmagic 7f454c46\nmask ffffffff\n`
  )
const state = (over: Partial<CleanupState> = {}): CleanupState => ({
  added: [],
  removed: [],
  interpreterDir: dir,
  native: ['amd64'],
  registrar: 'container',
  helperImage: 'docker.io/library/busybox:1.37.0@sha256:bdf57e528e45e4433820e045b29b4597825a1c9e38353532d90a01445013f82e',
  privilege: 'auto',
  timeout: 600,
  ...over
})

describe('what post writes', () => {
  it("an F entry's interpreter is bound from the host the helper runs on: checked here, left to the engine through it", () => {
    const was = parseEntry(
      'qemu-riscv64',
      'enabled\ninterpreter /opt/only-on-the-engine-host/qemu-riscv64\nflags: F\noffset 0\nmagic 7f454c46\nmask ffffffff\n'
    )
    const now = new Map([['qemu-riscv64', entry('qemu-riscv64', `${dir}/qemu-riscv64`)]])
    const s = state({ added: ['qemu-riscv64'], removed: [was] })
    expect(cleanupPlan(s, now).mounts).toEqual([])
    expect(cleanupPlan(s, now, () => undefined).mounts).toEqual([
      { host: '/opt/only-on-the-engine-host/qemu-riscv64', target: '/opt/only-on-the-engine-host/qemu-riscv64' }
    ])
  })

  it('removes our entries only while they are still ours, and says so to the helper too', () => {
    const now = new Map([
      ['qemu-aarch64', entry('qemu-aarch64', `${dir}/qemu-aarch64`)],
      ['qemu-s390x', entry('qemu-s390x', '/run/setup-qemu/another/qemu-s390x')]
    ])
    expect(cleanupPlan(state({ added: ['qemu-aarch64', 'qemu-s390x', 'qemu-riscv64'] }), now).changes).toEqual([
      { op: 'remove', name: 'qemu-aarch64', onlyIfIn: dir }
    ])
  })

  it('puts back a replaced entry in place of ours, switched off again if it was off', () => {
    const was = entry('qemu-riscv64', '/usr/libexec/qemu-binfmt/riscv64-binfmt-P', false)
    const now = new Map([['qemu-riscv64', entry('qemu-riscv64', `${dir}/qemu-riscv64`)]])
    expect(cleanupPlan(state({ added: ['qemu-riscv64'], removed: [was] }), now).changes).toEqual([
      { op: 'remove', name: 'qemu-riscv64', onlyIfIn: dir },
      { op: 'add', name: 'qemu-riscv64', line: expect.stringMatching(/^:qemu-riscv64:M::/), disabled: true }
    ])
  })

  it('puts back what a main step that stopped part-way removed, and leaves what it never got to', () => {
    const a = entry('qemu-aarch64', '/usr/libexec/qemu-binfmt/aarch64-binfmt-P')
    const s = entry('qemu-s390x', '/usr/libexec/qemu-binfmt/s390x-binfmt-P')
    // main planned to replace both; it removed qemu-aarch64 and stopped
    const plan = cleanupPlan(state({ added: ['qemu-aarch64', 'qemu-s390x'], removed: [a, s] }), new Map([['qemu-s390x', s]]))
    expect(plan.changes.map(c => `${c.op} ${c.name}`)).toEqual(['add qemu-aarch64'])
  })

  it("leaves an entry another job has put in the name's place since", () => {
    const was = entry('qemu-riscv64', '/usr/libexec/qemu-binfmt/riscv64-binfmt-P', false)
    const theirs = new Map([['qemu-riscv64', entry('qemu-riscv64', '/run/setup-qemu/theirs/qemu-riscv64')]])
    expect(cleanupPlan(state({ added: ['qemu-riscv64'], removed: [was] }), theirs).changes).toEqual([])
  })
})

describe('the post step never fails the job, and trusts no state it did not save', () => {
  const env = process.env
  afterEach(() => {
    process.env = env
  })
  const runPost = async (vars: Record<string, string>): Promise<string> => {
    process.env = { ...env, ...vars }
    return printedBy(post)
  }

  it('warns on a state that does not parse', async () => {
    expect(await runPost({ STATE_cleanup: '{"added":', INPUT_CLEANUP: 'true' })).toMatch(
      /::warning::cleanup did not finish: the saved cleanup state is not JSON/
    )
  })

  it('does nothing when the cleanup input is off, whatever the state says', async () => {
    const forged = JSON.stringify(state({ helperImage: 'ghcr.io/a/evil', privilege: 'true', removed: [entry('qemu-z', '/z')] }))
    expect(await runPost({ STATE_cleanup: forged, INPUT_CLEANUP: 'false' })).toBe('')
  })

  it('refuses a state whose helper image or privilege is not what the inputs say, naming which and both values', async () => {
    const forged = JSON.stringify(state({ helperImage: 'ghcr.io/a/evil', privilege: 'true' }))
    const out = await runPost({ STATE_cleanup: forged, INPUT_CLEANUP: 'true', INPUT_PRIVILEGED: 'true' })
    expect(out).toMatch(
      /::warning::cleanup did not finish: the saved cleanup state was not used, so nothing was put back: helper-image was ghcr.io\/a\/evil in main and is docker.io\/library\/busybox:1.37.0@sha256:bdf5[0-9a-f]+ now\. /
    )
    expect(out).not.toContain('privileged was')
    expect(out).toContain('Give these inputs values that stay the same for the whole job')
  })

  it('refuses a state from another boot of this runner with a warning that says so, and changes nothing', async () => {
    const { bootId } = await import('../../src/binfmt/table.js')
    const other = '00000000-0000-0000-0000-000000000000'
    const saved = JSON.stringify(
      state({ registrar: 'runner', sudo: true, bootId: other, added: ['qemu-aarch64'], removed: [entry('qemu-aarch64', '/x')] })
    )
    const out = await runPost({ STATE_cleanup: saved, INPUT_CLEANUP: 'true' })
    expect(out).toContain(
      `::warning::cleanup did not finish: binfmt_misc was not changed: it belongs to another kernel (boot id ${await bootId()}) ` +
        `than the one this run read and changed (boot id ${other}). The machine has restarted since`
    )
    expect(out).not.toMatch(/run: .*tee/)
  })

  it('refuses a state whose registrar the register-from input does not allow now', async () => {
    const saved = JSON.stringify(state({ registrar: 'runner', sudo: true }))
    const out = await runPost({ STATE_cleanup: saved, INPUT_CLEANUP: 'true', 'INPUT_REGISTER-FROM': 'container' })
    expect(out).toMatch(
      /::warning::cleanup did not finish: the saved cleanup state was not used, so nothing was put back: register-from is container now, and main registered from the runner itself\. /
    )
    const s = state()
    expect(mismatch(s, { helperImage: s.helperImage, privileged: 'auto', registerFrom: 'runner' })).toContain(
      'register-from is runner now, and main registered through a helper container.'
    )
  })

  it('names both inputs when both differ, and only privilege when only it does', () => {
    const s = state()
    expect(mismatch(s, { helperImage: s.helperImage, privileged: 'false', registerFrom: 'auto' })).toMatch(
      /^the saved cleanup state was not used, so nothing was put back: privileged was auto in main and is false now\. /
    )
    expect(mismatch(s, { helperImage: 'busybox', privileged: 'true', registerFrom: 'auto' })).toContain(
      `helper-image was ${s.helperImage} in main and is busybox now, and privileged was auto in main and is true now.`
    )
  })
})
