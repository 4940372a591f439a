/**
 * One engine identity across stages: every helper says the kernel it runs on (`boot`), and each one
 * after the first is told which kernel it must find, so look, write and verify cannot reach different
 * machines, and post cannot touch a table another boot owns.
 */
import { describe, expect, it } from '@jest/globals'
import { parseOutput, verbArgs } from '../../src/helper/protocol.js'
import { HelperRegistrar } from '../../src/register/helper.js'
import type { Change } from '../../src/register/registrar.js'
import { FakeEngine, ok, plainInfo } from '../helpers/engine.js'

const kernelOf = (stdout: string): string => parseOutput(stdout).kernel

/** An engine whose helpers answer as told (exit 7 where the script stops on another kernel). */
const engine = (answers: string[]): FakeEngine =>
  new FakeEngine({ info: plainInfo(), runs: answers.map(stdout => ok(stdout, parseOutput(stdout).otherKernel ? 7 : 0)) })
/** The verb each helper was given: what follows `sh -c SCRIPT sh <stdin>`. */
const verbs = (docker: FakeEngine): string[][] => docker.runCalls.map(c => c.args.slice(c.args.indexOf('-c') + 4))
const helper = (docker: FakeEngine): HelperRegistrar =>
  new HelperRegistrar({ engine: docker, image: 'busybox', privilege: 'auto', limit: 60 })

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
    const docker = engine([look('k1'), wrote('k1'), look('k1')])
    const r = helper(docker)
    expect((await r.view.look(new Map())).bootId).toBe('k1')
    expect((await r.apply([add], [])).map(x => x.status)).toEqual(['ok'])
    await r.view.look(new Map())
    expect(verbs(docker).map(v => v.slice(0, 2))).toEqual([
      ['look', ''],
      ['write', 'k1'],
      ['look', 'k1']
    ])
  })

  it("on the local path the write must find the runner's own kernel, as it was told", async () => {
    const docker = engine([wrote('runner-kernel')])
    const r = helper(docker)
    r.expectKernel('runner-kernel')
    await r.apply([add], [])
    expect(verbs(docker)[0].slice(0, 2)).toEqual(['write', 'runner-kernel'])
  })

  it('a helper that found another kernel stopped before writing: the step says so, with both boot ids', async () => {
    const docker = engine([refused('elsewhere')])
    const r = helper(docker)
    r.expectKernel('runner-kernel')
    await expect(r.apply([add], [])).rejects.toThrow(
      /^binfmt_misc was not changed: it belongs to another kernel \(boot id elsewhere\) than the one this run read and changed \(boot id runner-kernel\)\. The machine has restarted since, or the engine is reached on another machine/
    )
  })

  it('a look that reached another kernel than the first is refused too', async () => {
    const docker = engine([look('k1'), look('k2')])
    const r = helper(docker)
    await r.view.look(new Map())
    await expect(r.view.look(new Map())).rejects.toThrow(/another kernel \(boot id k2\) .*\(boot id k1\)/)
  })
})
