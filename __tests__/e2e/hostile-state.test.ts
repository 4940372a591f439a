/**
 * The host as another tool, another job or an attacker may leave it. For each: nothing native is
 * registered, no workflow command is injected, nothing another job relies on is lost, and the message
 * says what happened.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  HELPER,
  IMG,
  NATIVE,
  NATIVE_OUTPUT,
  act,
  clearEntries,
  containerRuns,
  entries,
  env,
  hostRuns,
  register,
  runnerLines,
  snapshot,
  useHost
} from './host.js'

useHost()

const ARM64 = '\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00'
const I386 = '\\x7fELF\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x03\\x00'
const MASK = '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff'

/** The workflow commands a log would run: lines the runner reads that start with `::`. */
const commands = (log: string): string[] =>
  runnerLines(log)
    .filter(l => l.startsWith('::'))
    .map(l => l.replace(/::.*$/s, '').split(' ')[0])

describe('an entry whose name carries a carriage return and workflow commands', () => {
  // as a person who could write binfmt_misc would leave it for a later job: the kernel takes \r and :: in a name
  const json =
    '{"added":[],"removed":[{"name":"qemu-z","interpreter":"\\u002fz","flags":"","magic":"00"}],"native":[],"helperImage":"ghcr.io\\u002fa\\u002fevil","privilege":"true","timeout":9}'
  const name = `qemu-x\r::save-state name=cleanup::${json}\r`
  const warning = 'qemu-y\r::warning::injected'

  it('is shown escaped, never as a command, and never touched', async () => {
    clearEntries()
    register(`|${name}|E||zz||/bin/true|`)
    register(`|${warning}|E||yy||/bin/true|`)
    expect(fs.readdirSync('/proc/sys/fs/binfmt_misc')).toEqual(expect.arrayContaining([name, warning]))
    const before = snapshot()
    const r = await act('inject', { platforms: 'arm64', reset: 'true', cleanup: 'true', ...IMG })
    expect(r.rc).toBe(0)
    for (const log of [r.mainLog, r.postLog]) {
      expect(runnerLines(log).some(l => l.startsWith('::save-state') || l.startsWith('::warning::injected'))).toBe(false)
      expect(
        commands(log).every(c => ['::group', '::endgroup', '::debug', '::warning', '::notice', '::error'].includes(c) || c === '')
      ).toBe(true)
    }
    expect(r.mainLog).toContain('qemu-x\\x0d::save-state name=cleanup::')
    expect(r.summary).not.toContain('\r')
    // reset removed no entry with such a name, and post put back exactly what was there
    expect(r.postRc).toBe(0)
    expect(snapshot()).toBe(before)
    clearEntries()
  })
})

describe('an extension entry named qemu-*', () => {
  it('is removed by reset and put back byte for byte by cleanup', async () => {
    clearEntries()
    register(':qemu-jar:E::jar::/usr/bin/jexec:')
    const before = snapshot()
    const r = await act('eentry', { platforms: 'arm64', reset: 'true', cleanup: 'true', ...IMG })
    expect(r.rc).toBe(0)
    expect(r.postLog).toContain('restore qemu-jar: ok')
    expect(snapshot()).toBe(before)
    clearEntries()
  })
})

describe('an entry with a 24-byte magic that claims arm64, without F', () => {
  it('is seen: arm64 is not taken for native, and is registered for containers', async () => {
    clearEntries()
    const magic = `${ARM64}\\x01\\x00\\x00\\x00`
    const mask = `${MASK}\\xff\\xff\\xff\\xff`
    register(`:aarch64-nof:M::${magic}:${mask}:/usr/bin/qemu-aarch64-static:P`)
    expect(containerRuns('arm64')).toBe(false)
    const r = await act('longmagic', { platforms: 'arm64', ...IMG })
    expect(r.rc).toBe(0)
    expect(r.outputs.platforms.split(',')).toEqual([...NATIVE_OUTPUT, 'linux/arm64'])
    expect(r.outputs.emulated).toBe('linux/arm64')
    expect(entries()).toEqual(['qemu-aarch64'])
    expect(containerRuns('arm64')).toBe(true)
    clearEntries()
  })
})

describe('a qemu-i386 entry already there, as a distribution leaves it', () => {
  const i386Native = NATIVE.includes('linux/386')

  it.each([false, true])(
    `with reset %s: linux/386 is ${i386Native ? 'native here, and never registered' : 'foreign here, and registered'}`,
    async reset => {
      clearEntries()
      register(`:qemu-i386:M::${I386}:${MASK}:/usr/bin/qemu-i386-static:P`)
      // through the helper, so that an entry of this step's is told by its path
      const r = await act(`i386-${reset}`, { platforms: 'all', reset: String(reset), ...IMG, ...HELPER })
      expect(r.rc).toBe(0)
      expect(r.outputs.platforms.split(',').slice(0, NATIVE_OUTPUT.length)).toEqual(NATIVE_OUTPUT)
      const ours =
        fs.existsSync('/proc/sys/fs/binfmt_misc/qemu-i386') &&
        fs.readFileSync('/proc/sys/fs/binfmt_misc/qemu-i386', 'utf8').includes('/run/setup-qemu/')
      expect(ours).toBe(!i386Native)
      expect(r.outputs.emulated.split(',').includes('linux/386')).toBe(!i386Native)
      if (i386Native) {
        expect(r.mainLog).toContain('linux/386 runs natively here, but qemu-i386 claims its programs')
        // reset takes the hijacking entry away and puts nothing in its place
        expect(entries().includes('qemu-i386')).toBe(!reset)
      } else {
        expect(containerRuns('i386')).toBe(true)
      }
      expect(entries()).not.toContain('qemu-x86_64')
      clearEntries()
    }
  )
})

describe('RUNNER_TEMP on a noexec filesystem', () => {
  it('stops before any write, even with the emulators in the tool cache, and says why', async () => {
    clearEntries()
    const toolcache = fs.mkdtempSync(path.join(os.tmpdir(), 'noexec-tc-'))
    const warm = await act('noexec-warm', { platforms: 'all', ...IMG }, { env: { RUNNER_TOOL_CACHE: toolcache } })
    expect(warm.rc).toBe(0)
    clearEntries()
    const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'noexec-temp-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'noexec', 'tmpfs', temp])
    try {
      const r = await act('noexec', { platforms: 'all', ...IMG }, { env: { RUNNER_TOOL_CACHE: toolcache, RUNNER_TEMP: temp } })
      expect(r.rc).toBe(1)
      expect(r.mainLog).toMatch(
        new RegExp(`::error::this host cannot run its own linux/\\S+ probe .* is on ${temp}, which is mounted noexec`)
      )
      expect(r.mainLog).not.toContain('::group::Register')
      expect(entries()).toEqual([])
    } finally {
      execFileSync('umount', [temp])
    }
  })
})

describe('two jobs on one runner: one stores the cache key the other registers from', () => {
  it('both pass, every round of 50', async () => {
    clearEntries()
    const withSha = {
      source: 'download',
      'download-url': `${env.HTTP}/qemu_linux-{arch}.tar.gz`,
      'download-sha256': env.TARBALL_SHA256,
      'helper-image': IMG['helper-image']
    }
    // a tool cache holding arm64 only, the state every round starts from
    const template = fs.mkdtempSync(path.join(os.tmpdir(), 'race-template-'))
    expect((await act('race-seed', { platforms: 'arm64', ...withSha }, { env: { RUNNER_TOOL_CACHE: template } })).rc).toBe(0)
    const failures: string[] = []
    for (let round = 0; round < 50; round++) {
      clearEntries()
      const toolcache = fs.mkdtempSync(path.join(os.tmpdir(), 'race-tc-'))
      execFileSync('cp', ['-a', `${template}/.`, toolcache])
      // the reader registers arm64 from the cache while the writer adds s390x to the same key
      const [reader, writer] = await Promise.all([
        act(`race-reader`, { platforms: 'arm64', ...withSha }, { env: { RUNNER_TOOL_CACHE: toolcache } }),
        act(`race-writer`, { platforms: 'arm64,s390x', ...withSha }, { env: { RUNNER_TOOL_CACHE: toolcache } })
      ])
      if (reader.rc !== 0)
        failures.push(
          `round ${round} reader: ${reader.mainLog
            .split('\n')
            .filter(l => l.startsWith('::error'))
            .join(' ')}`
        )
      if (writer.rc !== 0)
        failures.push(
          `round ${round} writer: ${writer.mainLog
            .split('\n')
            .filter(l => l.startsWith('::error'))
            .join(' ')}`
        )
      fs.rmSync(toolcache, { recursive: true, force: true })
    }
    expect(failures).toEqual([])
    expect(containerRuns('arm64')).toBe(true)
    expect(containerRuns('s390x')).toBe(true)
    expect(hostRuns('s390x')).toBe(true)
    clearEntries()
  })
})
