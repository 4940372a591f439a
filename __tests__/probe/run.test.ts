import { describe, expect, it } from '@jest/globals'
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEntry, registrationLine, type Entry } from '../../src/binfmt/entry.js'
import { isPostStep, startHostProbes } from '../../src/early.js'
import { byArch, type Platform } from '../../src/platform/platforms.js'
import { fromNodeArch } from '../../src/platform/arch.js'
import { qemuVersion } from '../../src/acquire/emulators.js'
import {
  fromStatus,
  probeHost,
  probesToRun,
  runProbe,
  runProbes,
  runsOnCpu,
  statusLines,
  writeProbes
} from '../../src/probe/run.js'

describe('a shell exit status as a probe result', () => {
  it.each([
    [42, { ok: true }],
    [127, { ok: false, error: 'interpreter missing' }],
    [126, { ok: false, error: 'exec failed' }],
    [139, { ok: false, error: 'crashed', detail: 'killed by signal 11' }],
    [2, { ok: false, error: 'wrong exit code', detail: 'exit code 2, expected 42' }],
    [0, { ok: false, error: 'wrong exit code' }]
  ])('%i', (status, expected) => expect(fromStatus(status)).toMatchObject(expected))
})

describe('running probes from one shell', () => {
  it('reports each file by its own status, including ones that do not exist', async () => {
    const results = await runProbes(
      new Map([
        ['true', '/bin/true'],
        ['false', '/bin/false'],
        ['gone', '/nonexistent/probe']
      ])
    )
    expect(results.get('true')).toMatchObject({ ok: false, error: 'wrong exit code', detail: 'exit code 0, expected 42' })
    expect(results.get('false')).toMatchObject({ ok: false, detail: 'exit code 1, expected 42' })
    expect(results.get('gone')).toMatchObject({ ok: false, error: 'interpreter missing' })
  })
})

describe('a probe that does not exit', () => {
  it('is killed at the time limit with everything it started, and reported as timed out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hang-'))
    const marker = join(dir, 'still-running')
    const slow = join(dir, 'slow')
    // a child of the probe that would outlive it, touching a file if it was not killed
    writeFileSync(slow, `#!/bin/sh\n(sleep 2; touch ${marker}) &\nsleep 30\nexit 42\n`, { mode: 0o755 })
    const results = await runProbes(
      new Map([
        ['riscv64', slow],
        ['true', '/bin/true']
      ]),
      500
    )
    expect(results.get('riscv64')).toEqual({ ok: false, error: 'timed out', detail: 'no exit in 0.5s' })
    expect(results.get('true')).toMatchObject({ error: 'wrong exit code' })
    await new Promise(r => setTimeout(r, 2500))
    expect(existsSync(marker)).toBe(false)
  })
})

describe('the early start', () => {
  const env = (over: Record<string, string>): NodeJS.ProcessEnv => ({
    RUNNER_TEMP: mkdtempSync(join(tmpdir(), 'early-')),
    ...over
  })

  it('probes the host for a valid platforms input, in a scratch directory of its own', async () => {
    const e = env({ INPUT_PLATFORMS: 'arm64, s390x' })
    const early = startHostProbes(e)
    expect(early?.requested).not.toBe('all')
    const r = await early?.probing
    expect(r?.probes.size).toBe(10)
    expect(r?.before.get(process.arch === 'x64' ? 'amd64' : 'arm64')).toEqual({ ok: true })
    expect([...(r?.before.keys() ?? [])]).toEqual(expect.arrayContaining(['arm64', 's390x']))
    expect(early?.scratchDir.startsWith(join(e.RUNNER_TEMP ?? '', 'setup-qemu-'))).toBe(true)
    expect(r?.probes.get('s390x')).toBe(join(early?.scratchDir ?? '', 'probes', 'probe-s390x'))
    expect(typeof r?.seen).toBe('string')
    // a second run gets a directory of its own
    expect(startHostProbes(e)?.scratchDir).not.toBe(early?.scratchDir)
  })

  it('leaves a bad input and the post step to main', () => {
    expect(startHostProbes(env({ INPUT_PLATFORMS: 'arm65' }))).toBeUndefined()
    expect(startHostProbes(env({ STATE_isPost: 'true' }))).toBeUndefined()
    expect(isPostStep({ STATE_isPost: 'true' })).toBe(true)
    expect(isPostStep({})).toBe(false)
  })

  it.each(['darwin', 'win32'] as const)('starts nothing on %s: no probe, no scratch directory', platform => {
    const e = env({ INPUT_PLATFORMS: 'arm64' })
    expect(startHostProbes(e, platform)).toBeUndefined()
    expect(readdirSync(e.RUNNER_TEMP ?? '')).toEqual([])
  })
})

describe("the CPU's own answer", () => {
  it('is asked where no entry can claim the probe: the host platform runs, a foreign one does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpu-'))
    const own = fromNodeArch(process.arch)
    const foreign = byArch(process.arch === 's390x' ? 'arm64' : 's390x')
    const probes = writeProbes(dir, own ? [own, foreign] : [foreign])
    const ownAnswer = own ? await runsOnCpu(probes.get(own.arch) ?? '') : undefined
    // a machine whose kernel gives a user namespace no binfmt_misc of its own says so instead
    if (ownAnswer && 'unknown' in ownAnswer) {
      expect(ownAnswer.unknown).toMatch(/binfmt_misc|user namespace/)
      return
    }
    expect(ownAnswer).toEqual({ runs: true })
    expect(await runsOnCpu(probes.get(foreign.arch) ?? '')).toEqual({ runs: false })
  })
})

describe('the probes of the host', () => {
  /** An entry claiming p's binaries, as the kernel shows one. */
  const claiming = (p: Platform): Entry => {
    const [, , , , magic, mask] = registrationLine(p, '/x').split(':')
    const hex = (t: string): string => t.replaceAll('\\x', '')
    return parseEntry(`qemu-${p.cpu}`, `enabled\ninterpreter /x\nflags: F\noffset 0\nmagic ${hex(magic)}\nmask ${hex(mask)}\n`)
  }
  const arm64 = byArch('arm64')
  const [i386, arm] = [byArch('386'), byArch('arm')]

  it("ask the CPU meanwhile, as root, about a platform of the host's family that an entry claims", async () => {
    const entries = new Map([i386, arm, arm64].map(p => [`qemu-${p.cpu}`, claiming(p)] as const))
    const asked = await probeHost(mkdtempSync(join(tmpdir(), 'asked-')), [arm64], entries, 'x64', true)
    // 386 is amd64's family and claimed; arm is claimed, but arm64's family; nothing claims amd64 itself
    expect([...(asked.cpu ?? new Map()).keys()]).toEqual(['386'])
    const answer = await asked.cpu?.get('386')
    expect(answer && ('runs' in answer || /binfmt_misc|user namespace/.test(answer.unknown))).toBe(true)
    // as another user, asking may take sudo: only once the answer is known to count
    const later = await probeHost(mkdtempSync(join(tmpdir(), 'later-')), [arm64], entries, 'x64', false)
    expect(later.cpu?.size).toBe(0)
    // nothing claims it: the probe's own result says
    const unclaimed = await probeHost(mkdtempSync(join(tmpdir(), 'none-')), [arm64], new Map(), 'x64', true)
    expect(unclaimed.cpu?.size).toBe(0)
  })
})

describe('which probes run', () => {
  it('the host family and what was asked for; everything for all or an unknown host', () => {
    expect(probesToRun([byArch('s390x')], 'x64').map(p => p.arch)).toEqual(['amd64', '386', 's390x'])
    expect(probesToRun([byArch('amd64')], 'arm64').map(p => p.arch)).toEqual(['amd64', 'arm64', 'arm'])
    expect(probesToRun('all', 'x64')).toHaveLength(10)
    expect(probesToRun([], 'sparc')).toHaveLength(10)
  })

  it('and what an enabled entry claims, so platforms that already work are known', () => {
    const line = registrationLine(byArch('riscv64'), '/x').split(':')
    const hex = (s: string): string => s.replaceAll('\\x', '')
    const riscv = parseEntry(
      'anything',
      `enabled\ninterpreter /x\nflags: F\noffset 0\nmagic ${hex(line[4])}\nmask ${hex(line[5])}\n`
    )
    const entries = new Map([['anything', riscv]])
    expect(probesToRun([byArch('s390x')], 'x64', entries).map(p => p.arch)).toEqual(['amd64', '386', 'riscv64', 's390x'])
    const off = new Map([['anything', { ...riscv, enabled: false }]])
    expect(probesToRun([byArch('s390x')], 'x64', off).map(p => p.arch)).toEqual(['amd64', '386', 's390x'])
  })
})

describe("what a probe sees of the step's environment", () => {
  /**
   * The environment this process really has (jest gives tests a copy of process.env that spawned
   * processes never see): NODE_OPTIONS at least, as `npm test` sets it, and on a runner the job's
   * ACTIONS_RUNTIME_TOKEN, GITHUB_ENV and the rest.
   */
  const real = new Map(
    readFileSync('/proc/self/environ', 'utf8')
      .split('\0')
      .filter(kv => kv.includes('='))
      .map(kv => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const)
  )
  // what sh sets by itself
  const SHELL_OWN = ['PWD', 'OLDPWD', 'SHLVL', '_']

  /** A probe that writes the environment it was given beside itself, and exits as a probe does. */
  function envProbe(): { probe: string; seen: () => Map<string, string> } {
    const probe = join(mkdtempSync(join(tmpdir(), 'env-probe-')), 'probe')
    writeFileSync(probe, '#!/bin/sh\n/usr/bin/env -0 > "$0.env"\nexit 42\n', { mode: 0o755 })
    const seen = (): Map<string, string> =>
      new Map(
        readFileSync(`${probe}.env`, 'utf8')
          .split('\0')
          .filter(kv => kv.includes('='))
          .map(kv => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const)
      )
    return { probe, seen }
  }

  const expectMinimal = (env: Map<string, string>): void => {
    expect(real.get('NODE_OPTIONS')).toContain('--experimental-vm-modules')
    expect(env.get('PATH')).toBe('/usr/sbin:/usr/bin:/sbin:/bin')
    expect(env.get('LANG')).toBe('C')
    expect([...env.keys()].filter(k => !['PATH', 'LANG', ...SHELL_OWN].includes(k))).toEqual([])
    // so none of the step's: no ACTIONS_RUNTIME_TOKEN, ACTIONS_ID_TOKEN_REQUEST_*, GITHUB_* on a runner
    for (const name of real.keys()) if (!['PATH', 'LANG', ...SHELL_OWN].includes(name)) expect(env.has(name)).toBe(false)
  }

  it('none of it, run from the shell that runs them all', async () => {
    const { probe, seen } = envProbe()
    expect(await runProbes(new Map([['riscv64', probe]]))).toEqual(new Map([['riscv64', { ok: true }]]))
    expectMinimal(seen())
  })

  it('none of it, run on its own', async () => {
    const { probe, seen } = envProbe()
    expect(await runProbe(probe)).toEqual({ ok: true })
    expectMinimal(seen())
  })

  it('none of it through a tool that runs their shell (as sudo does), found on the minimal PATH', async () => {
    const { probe, seen } = envProbe()
    const script = 'echo started; "$1" </dev/null >/dev/null 2>&1; echo "$? probe"'
    const r = await statusLines('env', ['/bin/sh', '-c', script, 'sh', probe], new Map([['probe', 'riscv64']]))
    expect(r).toEqual({ statuses: new Map([['riscv64', 42]]), started: true })
    expectMinimal(seen())
  })

  it('none of it where the CPU is asked, in a private user namespace', async () => {
    const { probe, seen } = envProbe()
    const answer = await runsOnCpu(probe)
    // a kernel that gives a user namespace no binfmt_misc of its own runs no probe there
    if ('unknown' in answer) return
    expect(answer).toEqual({ runs: true })
    expectMinimal(seen())
  })

  it('none of it when an emulator is asked for its version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'env-emulator-'))
    const leaked = [...real.keys()].filter(k => !['PATH', 'LANG', ...SHELL_OWN].includes(k))
    writeFileSync(
      join(dir, 'qemu-aarch64'),
      `#!/bin/sh\nif env | grep -qE '^(${leaked.join('|')})='; then echo "qemu version 6.6.6"; else echo "qemu version 10.2.3"; fi\n`,
      { mode: 0o755 }
    )
    expect(await qemuVersion(dir, new Set(['arm64']))).toBe('10.2.3')
  })
})
