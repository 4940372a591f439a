/**
 * The amd64 micro-architecture levels this CPU runs (x86-64-v2, v3, v4), which buildx lists as
 * linux/amd64/v2 and so on. Read from the CPU flags the kernel shows; each level needs the one below.
 */
import * as fs from 'node:fs/promises'
import type { Platform } from '../platform/platforms.js'

/**
 * Each level's flags, by the names /proc/cpuinfo gives them (pni is SSE3). v3's LZCNT is not among them:
 * the kernel shows it only as AMD's `abm`, and some virtual machines' kernels omit that while CPUID has
 * it; every CPU with AVX2, BMI1 and BMI2 has LZCNT.
 */
const AMD64_LEVELS: readonly (readonly [string, readonly string[]])[] = [
  ['v2', ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3']],
  ['v3', ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'movbe', 'xsave']],
  ['v4', ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl']]
]

/** The levels above the baseline that every CPU in cpuinfo has, as platform words. */
export function amd64Variants(cpuinfo: string): string[] {
  const cpus = cpuinfo
    .split('\n')
    .filter(l => /^flags\s*:/.test(l))
    .map(
      l =>
        new Set(
          l
            .replace(/^flags\s*:/, '')
            .trim()
            .split(/\s+/)
        )
    )
  if (cpus.length === 0) return []
  const variants: string[] = []
  for (const [level, flags] of AMD64_LEVELS) {
    if (!cpus.every(has => flags.every(f => has.has(f)))) break
    variants.push(`linux/amd64/${level}`)
  }
  return variants
}

/** The variants of the host's own platform it runs, for the platforms output; none where unknown. */
export async function nativeVariants(own: Platform | undefined): Promise<string[]> {
  if (own?.arch !== 'amd64') return []
  return amd64Variants(await fs.readFile('/proc/cpuinfo', 'utf8').catch(() => ''))
}
