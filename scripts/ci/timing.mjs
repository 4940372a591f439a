#!/usr/bin/env node
/**
 * Times two ways of doing the same step on one runner, in alternation: the workflow writes a mark before
 * and after each (`NAME-start MS`, `NAME-end MS` lines, ms since the epoch), and this reads them and
 * reports each one's median, the runs, and the ratio of the first to the second, in the log and the job
 * summary.
 *
 *   node scripts/ci/timing.mjs report FILE FIRST SECOND
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'
import { error, log } from './outputs.mjs'

const median = xs => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** Each name's durations in ms, in the order they ran, from the marks' text. */
export function durations(text) {
  const open = new Map()
  const runs = new Map()
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9-]+)-(start|end) (\d+)$/.exec(line.trim())
    if (!m) continue
    const [, name, edge, ms] = m
    if (edge === 'start') open.set(name, Number(ms))
    else if (open.has(name)) {
      runs.set(name, [...(runs.get(name) ?? []), Number(ms) - open.get(name)])
      open.delete(name)
    }
  }
  return runs
}

/** The comparison as a Markdown table, or why there is none. */
export function comparison(runs, first, second) {
  const a = runs.get(first) ?? []
  const b = runs.get(second) ?? []
  if (!a.length || !b.length) return { problem: `no complete runs of ${a.length ? second : first} in the marks` }
  const ma = median(a)
  const mb = median(b)
  const ratio = (ma / mb).toFixed(2)
  const table = [
    `### ${first} against ${second}, on this runner, alternating`,
    '',
    '| step | median | runs (ms) |',
    '|---|---|---|',
    `| ${first} | ${Math.round(ma)} ms | ${a.join(', ')} |`,
    `| ${second} | ${Math.round(mb)} ms | ${b.join(', ')} |`,
    '',
    `Ratio ${first} / ${second}: **${ratio}**`
  ].join('\n')
  return { table, ratio }
}

export function main(argv, env = process.env) {
  const [verb, file, first, second] = argv
  if (verb !== 'report' || !file || !first || !second) {
    error('usage: timing.mjs report FILE FIRST SECOND')
    return 2
  }
  const result = comparison(durations(fs.readFileSync(file, 'utf8')), first, second)
  if (result.problem) {
    error(result.problem)
    return 1
  }
  log(result.table)
  if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, `${result.table}\n`)
  return 0
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2))
}
