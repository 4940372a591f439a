import { describe, expect, it } from '@jest/globals'
import { amd64Variants } from '../../src/host/cpu.js'

const V2 = 'fpu cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3'
const V3 = `${V2} avx avx2 bmi1 bmi2 f16c fma abm movbe xsave`
const V4 = `${V3} avx512f avx512bw avx512cd avx512dq avx512vl`
const cpuinfo = (...flags: string[]): string =>
  flags.map((f, i) => `processor\t: ${i}\nmodel name\t: x\nflags\t\t: ${f}\n`).join('\n')

describe('amd64 levels', () => {
  it.each([
    ['a baseline CPU', cpuinfo('fpu sse sse2'), []],
    ['x86-64-v2', cpuinfo(V2), ['linux/amd64/v2']],
    ['x86-64-v3', cpuinfo(V3), ['linux/amd64/v2', 'linux/amd64/v3']],
    ['x86-64-v4', cpuinfo(V4), ['linux/amd64/v2', 'linux/amd64/v3', 'linux/amd64/v4']],
    // a virtual machine's kernel that shows no abm (LZCNT) for a CPU whose CPUID has it
    ['x86-64-v4 without abm shown', cpuinfo(V4.replace(' abm', '')), ['linux/amd64/v2', 'linux/amd64/v3', 'linux/amd64/v4']],
    ['v3 less AVX2 is v2', cpuinfo(V3.replace(' avx2', '')), ['linux/amd64/v2']],
    ['AVX-512 without v2 (each level needs the one below)', cpuinfo(`avx512f avx512bw avx512cd avx512dq avx512vl`), []],
    ['CPUs that differ: what all of them run', cpuinfo(V4, V2), ['linux/amd64/v2']],
    ['no flags line', 'processor\t: 0\n', []]
  ])('%s', (_, text, want) => expect(amd64Variants(text)).toEqual(want))

  it('reads this machine', async () => {
    const { readFileSync } = await import('node:fs')
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? ''
    // what the kernel says of this CPU decides: v2 is listed exactly when its flags are all there
    const hasV2 = ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3'].every(f => flags.split(/\s+/).includes(f))
    expect(amd64Variants(readFileSync('/proc/cpuinfo', 'utf8')).includes('linux/amd64/v2')).toBe(process.arch === 'x64' && hasV2)
  })
})
