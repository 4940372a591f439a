#!/usr/bin/env node
/**
 * The end-to-end workflow's check of the action's outputs on a hosted runner.
 *
 *   PLATFORMS=… EMULATED=… FAILED=… VERSION=… RUNNER_ARCH=X64 \
 *     node scripts/ci/check-outputs.mjs [--emulated a,b] [--present c,d] [--same-as PLATFORMS]
 *
 * Always: the runner's native platform comes first in PLATFORMS, every EMULATED one is in PLATFORMS too,
 * FAILED is empty and VERSION is not. --emulated: these must be emulated; --present: these must be usable
 * (emulated or native: 32-bit arm is native on some arm64 CPUs and emulated on others); --same-as: a
 * second run must report exactly the first run's PLATFORMS.
 */
import * as path from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'
import { error, escapeData, log } from './outputs.mjs'

const NATIVE = { X64: 'linux/amd64', ARM64: 'linux/arm64' }
const list = s =>
  (s ?? '')
    .split(',')
    .map(p => p.trim())
    .filter(Boolean)

/** Problems with the outputs; [] when they are what the expectations say. */
export function outputProblems(outputs, { runnerArch, emulated = [], present = [], sameAs } = {}) {
  const problems = []
  const platforms = list(outputs.platforms)
  const emu = list(outputs.emulated)
  const native = NATIVE[runnerArch]
  if (!native) problems.push(`unknown RUNNER_ARCH "${runnerArch}"`)
  else if (platforms[0] !== native)
    problems.push(`the native platform ${native} is not first in platforms (${outputs.platforms})`)
  for (const p of emu) if (!platforms.includes(p)) problems.push(`${p} is emulated but not in platforms`)
  for (const p of emulated) if (!emu.includes(p)) problems.push(`${p} is missing from emulated (${outputs.emulated})`)
  for (const p of present) if (!platforms.includes(p)) problems.push(`${p} is missing from platforms (${outputs.platforms})`)
  if (list(outputs.failed).length) problems.push(`failed is not empty: ${outputs.failed}`)
  if (!outputs.version) problems.push('qemu-version is empty')
  if (sameAs !== undefined && sameAs !== outputs.platforms)
    problems.push(`platforms changed between runs: ${sameAs} then ${outputs.platforms}`)
  return problems
}

export function main(argv, env = process.env) {
  const opts = { runnerArch: env.RUNNER_ARCH }
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? '']
    if (flag === '--emulated') opts.emulated = list(value)
    else if (flag === '--present') opts.present = list(value)
    else if (flag === '--same-as') opts.sameAs = value
    else {
      error(`unknown argument ${flag}`)
      return 2
    }
  }
  const outputs = { platforms: env.PLATFORMS, emulated: env.EMULATED, failed: env.FAILED, version: env.VERSION }
  log(
    escapeData(
      `platforms=${outputs.platforms} emulated=${outputs.emulated} failed=${outputs.failed} qemu-version=${outputs.version}`
    )
  )
  const problems = outputProblems(outputs, opts)
  for (const p of problems) error(p)
  return problems.length ? 1 : 0
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2))
}
