import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { comparison, durations, main } from '../../scripts/ci/timing.mjs'
import { captured } from './helpers.js'

const MARKS = [
  'ours-start 1000',
  'ours-end 1400',
  'upstream-start 2000',
  'upstream-end 3000',
  'ours-start 4000',
  'ours-end 4300',
  'upstream-start 5000',
  'upstream-end 6200',
  'ours-start 7000',
  'ours-end 7500',
  // a run that never ended (a step that failed) counts for nothing
  'upstream-start 8000'
].join('\n')

describe('timing two steps against each other', () => {
  it('pairs each start with its end, per name, in order', () => {
    expect(durations(MARKS)).toEqual(
      new Map([
        ['ours', [400, 300, 500]],
        ['upstream', [1000, 1200]]
      ])
    )
  })

  it('ignores lines that are not marks', () => {
    expect(durations('hello\nours-end 5\nours-start x\n')).toEqual(new Map())
  })

  it('reports medians and the ratio of the first to the second', () => {
    const c = comparison(durations(MARKS), 'ours', 'upstream')
    expect(c.ratio).toBe('0.36') // 400 / 1100
    expect(c.table).toContain('| ours | 400 ms | 400, 300, 500 |')
    expect(c.table).toContain('| upstream | 1100 ms | 1000, 1200 |')
  })

  it('says which side has no complete run', () => {
    expect(comparison(durations('ours-start 1\nours-end 2'), 'ours', 'upstream').problem).toBe(
      'no complete runs of upstream in the marks'
    )
  })

  it('writes the table to the job summary and fails without runs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'timing-'))
    const marks = path.join(dir, 'marks')
    const summary = path.join(dir, 'summary')
    fs.writeFileSync(marks, MARKS)
    const ok = await captured(() => main(['report', marks, 'ours', 'upstream'], { GITHUB_STEP_SUMMARY: summary }))
    expect(ok.result).toBe(0)
    expect(fs.readFileSync(summary, 'utf8')).toContain('Ratio ours / upstream: **0.36**')
    fs.writeFileSync(marks, '')
    const none = await captured(() => main(['report', marks, 'ours', 'upstream'], {}))
    expect(none.result).toBe(1)
    expect(none.lines.join('\n')).toContain('::error::no complete runs of ours')
    fs.rmSync(dir, { recursive: true })
  })
})
