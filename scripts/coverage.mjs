#!/usr/bin/env node
/**
 * Line coverage of src/ by several test runs together (the unit, user-namespace and integration tests run
 * apart): merges their coverage-final.json files, writes an lcov report beside them, and prints one line
 * naming the runs it merged.
 *
 *   node scripts/coverage.mjs OUT_DIR RUN_DIR...
 */
import libCoverage from 'istanbul-lib-coverage'
import libReport from 'istanbul-lib-report'
import reports from 'istanbul-reports'
import * as fs from 'node:fs'
import * as path from 'node:path'

const [out, ...runs] = process.argv.slice(2)
if (!out || runs.length === 0) {
  console.error('usage: node scripts/coverage.mjs OUT_DIR RUN_DIR...')
  process.exit(2)
}
const map = libCoverage.createCoverageMap({})
for (const dir of runs) {
  const file = path.join(dir, 'coverage-final.json')
  if (fs.existsSync(file)) map.merge(JSON.parse(fs.readFileSync(file, 'utf8')))
  else console.error(`no coverage from ${dir}`)
}
const context = libReport.createContext({ dir: out, coverageMap: map })
reports.create('lcovonly').execute(context)
reports.create('text-summary', { file: 'summary.txt' }).execute(context)
const lines = map.getCoverageSummary().lines
console.log(
  `line coverage of src/ (${runs.map(r => path.basename(r)).join(', ')} tests): ${lines.pct}% (${lines.covered} of ${lines.total} lines)`
)
