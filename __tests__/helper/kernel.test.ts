/**
 * One engine identity across stages: every helper says the kernel it runs on (`boot`), and each one
 * after the first is told which kernel it must find, so look, write and verify cannot reach different
 * machines, and post cannot touch a table another boot owns.
 */
import { describe, expect, it } from '@jest/globals'
import type { Docker } from '../../src/engine/docker.js'
import type { EngineInfo } from '../../src/engine/engine.js'
import type { RunResult } from '../../src/engine/command.js'
import { HelperRegistrar } from '../../src/helper/container.js'
import { OTHER_KERNEL, kernelOf, verbArgs } from '../../src/helper/protocol.js'
import type { Change } from '../../src/register/registrar.js'

const info: EngineInfo = { securityOptions: [], rootless: false }

/** An engine whose helpers answer as told, recording the verb each was given (what follows `sh -c SCRIPT sh <stdin>`). */
function engine(answers: string[]): { docker: Docker; verbs: string[][] } {
  const verbs: string[][] = []
  const docker = {
    info: async () => info,
    ensureImage: async () => 'sha256:x',
    call: async (args: readonly string[]): Promise<RunResult> => {
      if (args[0] !== 'run') return { exitCode: 0, stdout: '', stderr: '' }
      verbs.push(args.slice(args.indexOf('-c') + 4))
      const stdout = answers.shift() ?? ''
      return { exitCode: OTHER_KERNEL.test(stdout) ? 7 : 0, stdout, stderr: '' }
    }
  } as unknown as Docker
  return { docker, verbs }
}

const look = (boot: string): string => `ready\nboot ${boot}\nstatus enabled\nmachine x86_64\ndone\n`
const wrote = (boot: string): string => `ready\nboot ${boot}\nok 1\ndone\n`
const refused = (boot: string): string => `ready\nboot ${boot}\notherkernel\n`
const add: Change = { op: 'add', name: 'qemu-aarch64', line: ':qemu-aarch64:M::\\x7f:\\xff:/run/setup-qemu/k/qemu-aarch64:F' }

describe("the helper's verbs", () => {
  it('every verb is told the kernel it must find, empty for any', () => {
    expect(verbArgs('look', undefined, ['/p'])).toEqual(['look', '', '/p'])
    expect(verbArgs('write', 'b00t', ['add', 'n', 'l'])).toEqual(['write', 'b00t', 'add', 'n', 'l'])
    expect(kernelOf(wrote('5e1f'))).toBe('5e1f')
    expect(kernelOf('ready\n')).toBe('')
  })
})

describe('one kernel across look, write and verify', () => {
  it('the first look names the kernel; every later helper must find it', async () => {
    const { docker, verbs } = engine([look('k1'), wrote('k1'), look('k1')])
    const r = new HelperRegistrar(docker, 'busybox', 'auto', 60)
    expect((await r.look(new Map())).bootId).toBe('k1')
    expect((await r.apply([add], [])).map(x => x.status)).toEqual(['ok'])
    await r.look(new Map())
    expect(verbs.map(v => v.slice(0, 2))).toEqual([
      ['look', ''],
      ['write', 'k1'],
      ['look', 'k1']
    ])
  })

  it("on the local path the write must find the runner's own kernel, as it was told", async () => {
    const { docker, verbs } = engine([wrote('runner-kernel')])
    const r = new HelperRegistrar(docker, 'busybox', 'auto', 60)
    r.expectKernel('runner-kernel')
    await r.apply([add], [])
    expect(verbs[0].slice(0, 2)).toEqual(['write', 'runner-kernel'])
  })

  it('a helper that found another kernel stopped before writing: the step says so, with both boot ids', async () => {
    const { docker } = engine([refused('elsewhere')])
    const r = new HelperRegistrar(docker, 'busybox', 'auto', 60)
    r.expectKernel('runner-kernel')
    await expect(r.apply([add], [])).rejects.toThrow(
      /^binfmt_misc was not changed: it belongs to another kernel \(boot id elsewhere\) than the one this run read and changed \(boot id runner-kernel\)\. The machine has restarted since, or the engine is reached on another machine/
    )
  })

  it('a look that reached another kernel than the first is refused too', async () => {
    const { docker } = engine([look('k1'), look('k2')])
    const r = new HelperRegistrar(docker, 'busybox', 'auto', 60)
    await r.look(new Map())
    await expect(r.look(new Map())).rejects.toThrow(/another kernel \(boot id k2\) .*\(boot id k1\)/)
  })
})
