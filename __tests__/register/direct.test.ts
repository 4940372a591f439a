/**
 * The runner's own registrar through sudo, against a stand-in for sudo that records what it is given and
 * does what `tee` does: the fixed argument vector, the data on stdin, and none of the step's environment.
 * The real kernel interface is in __tests__/userns/direct.test.ts.
 */
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { bootId } from '../../src/binfmt/table.js'
import { DirectRegistrar, SudoWrites } from '../../src/register/direct.js'
import type { Change } from '../../src/register/registrar.js'

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'direct-test-'))
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))
const table = path.join(work, 'table')
const calls = path.join(work, 'calls')

/** A sudo that records each call (its arguments, stdin, and whether the step's environment reached it), then answers as told. */
function fakeSudo(answer = 'exec "$@"'): string {
  const file = path.join(work, `sudo-${Math.random().toString(16).slice(2)}`)
  fs.writeFileSync(
    file,
    `#!/bin/sh
n=$(ls "${calls}" | wc -l)
d="${calls}/$n"; mkdir "$d"
printf '%s\\n' "$@" >"$d/args"
printf '%s' "\${SETUP_QEMU_TEST_SECRET-unset} $PATH" >"$d/env"
cat >"$d/stdin"
[ "$1" = -n ] && shift
${answer} <"$d/stdin"
`,
    { mode: 0o755 }
  )
  return file
}

const recorded = (): { args: string[]; stdin: string; env: string }[] =>
  fs
    .readdirSync(calls)
    .sort((a, b) => Number(a) - Number(b))
    .map(n => ({
      args: fs
        .readFileSync(path.join(calls, n, 'args'), 'utf8')
        .trimEnd()
        .split('\n'),
      stdin: fs.readFileSync(path.join(calls, n, 'stdin'), 'utf8'),
      env: fs.readFileSync(path.join(calls, n, 'env'), 'utf8')
    }))

beforeEach(() => {
  for (const d of [table, calls]) {
    fs.rmSync(d, { recursive: true, force: true })
    fs.mkdirSync(d)
  }
})

const line = ':qemu-aarch64:M::\\x7fELF\\x02:\\xff\\xff\\xff\\xff\\xff:/run/q/qemu-aarch64:F'

describe('writing through sudo', () => {
  it("runs `sudo -n tee FILE` with the data on stdin, and none of the step's environment", async () => {
    process.env.SETUP_QEMU_TEST_SECRET = 'a job token'
    try {
      const r = new DirectRegistrar(table, new SudoWrites(async () => fakeSudo('exec "$@" >/dev/null')))
      fs.writeFileSync(path.join(table, 'qemu-s390x'), 'enabled\ninterpreter /run/q/qemu-s390x\n')
      const changes: Change[] = [
        { op: 'add', name: 'qemu-aarch64', line, disabled: true },
        { op: 'remove', name: 'qemu-s390x', onlyIfIn: '/run/q' }
      ]
      expect((await r.apply(changes, [])).map(x => x.status)).toEqual(['ok', 'ok'])
      expect(recorded()).toEqual([
        { args: ['-n', 'tee', path.join(table, 'register')], stdin: line, env: 'unset /usr/sbin:/usr/bin:/sbin:/bin' },
        { args: ['-n', 'tee', path.join(table, 'qemu-aarch64')], stdin: '0', env: 'unset /usr/sbin:/usr/bin:/sbin:/bin' },
        { args: ['-n', 'tee', path.join(table, 'qemu-s390x')], stdin: '-1', env: 'unset /usr/sbin:/usr/bin:/sbin:/bin' }
      ])
      // what tee wrote is what the kernel would have read
      expect(fs.readFileSync(path.join(table, 'register'), 'utf8')).toBe(line)
      expect(fs.readFileSync(path.join(table, 'qemu-s390x'), 'utf8')).toBe('-1')
      expect(r.method).toBe('the runner itself, with sudo -n tee')
    } finally {
      delete process.env.SETUP_QEMU_TEST_SECRET
    }
  })

  it('an entry that is already there is `exists`, as the kernel says with EEXIST', async () => {
    const sudo = fakeSudo(`echo "tee: $2: File exists" >&2; exit 1`)
    const [result] = await new DirectRegistrar(table, new SudoWrites(async () => sudo)).apply(
      [{ op: 'add', name: 'qemu-aarch64', line }],
      []
    )
    expect(result.status).toBe('exists')
  })

  it('sudo that asks for a password fails the write with its own words, and asks nothing', async () => {
    const sudo = fakeSudo(`echo 'sudo: a password is required' >&2; exit 1`)
    const [result] = await new DirectRegistrar(table, new SudoWrites(async () => sudo)).apply(
      [{ op: 'add', name: 'qemu-aarch64', line }],
      []
    )
    expect(result).toMatchObject({
      status: 'failed',
      error: `sudo -n tee ${path.join(table, 'register')}: sudo: a password is required`
    })
  })

  it("never runs sudo for an entry that is not there, one that is someone else's now, or a name that is not an entry's", async () => {
    fs.writeFileSync(path.join(table, 'qemu-riscv64'), 'enabled\ninterpreter /usr/bin/qemu-riscv64-static\n')
    const r = new DirectRegistrar(table, new SudoWrites(async () => fakeSudo()))
    const results = await r.apply(
      [
        { op: 'remove', name: 'qemu-s390x' },
        { op: 'remove', name: 'qemu-riscv64', onlyIfIn: '/run/q' },
        { op: 'remove', name: 'status' },
        { op: 'remove', name: '..' }
      ],
      []
    )
    expect(results.map(x => x.status)).toEqual(['gone', 'changed', 'failed', 'failed'])
    expect(recorded()).toEqual([])
  })
})

describe('one kernel', () => {
  it('writes nothing to a table of another kernel than the one it was told (a reboot since main)', async () => {
    const r = new DirectRegistrar(table, new SudoWrites(async () => fakeSudo()))
    r.expectKernel('00000000-0000-0000-0000-000000000000')
    await expect(r.apply([{ op: 'add', name: 'qemu-aarch64', line }], [])).rejects.toThrow(
      new RegExp(`^binfmt_misc was not changed: it belongs to another kernel \\(boot id ${await bootId()}\\) than the one`)
    )
    expect(recorded()).toEqual([])
    r.expectKernel(await bootId())
    expect((await r.apply([{ op: 'add', name: 'qemu-aarch64', line }], [])).map(x => x.status)).toEqual(['ok'])
  })
})
