#!/usr/bin/env node
/**
 * The bundled action's main step as a container job runs it (test/e2e/container-job.sh), for the
 * benchmark: prints main's time in ms.
 *
 *   node bench/container-job.mjs RUN_DIR USER input=value ...
 */
import * as path from 'node:path'
import { containerJob, runAction } from '../scripts/runner.mjs'

const [dir, user, ...pairs] = process.argv.slice(2)
const inputs = Object.fromEntries(pairs.map(p => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]))
const r = await runAction({
  dir,
  inputs,
  post: false,
  env: { RUNNER_TEMP: '/tmp/runner/temp', RUNNER_TOOL_CACHE: path.join(dir, 'toolcache') },
  wrap: containerJob(user, dir)
})
if (r.rc !== 0) process.exit(1)
console.log(Math.round(r.ms))
