#!/usr/bin/env node
/**
 * Runs the bundled action the way the GitHub runner does, and nothing else does it in this project:
 * a fresh node process for main with INPUT_* variables and the runner's files (GITHUB_OUTPUT,
 * GITHUB_STATE, GITHUB_STEP_SUMMARY, RUNNER_TEMP, RUNNER_TOOL_CACHE), then the post step with the
 * state main saved handed back as STATE_* variables.
 *
 *   node scripts/runner.mjs [--dir DIR] [--no-post] [--post-only] [--quiet] [input=value ...]
 *   e.g. node scripts/runner.mjs platforms=arm64,s390x image=127.0.0.1:5000/binfmt:test@sha256:...
 *
 * The end-to-end tests and the benchmark import runAction from here.
 */
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const ACTION = path.join(ROOT, 'dist', 'index.js')

/**
 * The Node the runner runs the action with: the major action.yml names (`using: node24`), from npm's
 * node-linux-<arch> package that `npm ci` installs, whatever Node runs this script. Its path and version.
 */
export function actionNode() {
  const using = /^\s*using:\s*'?node(\d+)'?\s*$/m.exec(fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8'))
  if (!using) throw new Error('action.yml names no `using: nodeNN`')
  const pkg = `node-linux-${process.arch}`
  let bin
  try {
    bin = path.join(path.dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), 'bin', 'node')
  } catch {
    throw new Error(`${pkg} is not installed: run npm ci (it is an optional dependency, for Linux on x64 and arm64)`)
  }
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? ''
  if (!version.startsWith(`v${using[1]}.`)) {
    throw new Error(`${bin} is Node ${version || 'that does not run'}, and action.yml runs the action on node${using[1]}`)
  }
  return { path: bin, version }
}
let node

/** The runner's rule for input variables: upper case, spaces to `_`, hyphens kept. */
export const inputVariable = name => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`

/** Reads the runner's file-command format: `NAME<<DELIMITER`, the value's lines, `DELIMITER`. */
export function readRecords(file) {
  const records = {}
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : []
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i])
    if (!m) continue
    const value = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
    records[m[1]] = value.join('\n')
  }
  return records
}

/** Every binfmt_misc entry with its text, as `cat` shows it, for "exactly as before" checks; '' when not mounted. */
export function binfmtSnapshot(dir = '/proc/sys/fs/binfmt_misc') {
  if (!fs.existsSync(path.join(dir, 'register'))) return ''
  return fs
    .readdirSync(dir)
    .filter(n => n !== 'register')
    .sort()
    .map(n => `${n}\n${fs.readFileSync(path.join(dir, n), 'utf8')}`)
    .join('')
}

/**
 * The `wrap` for a step run as a container job sees the machine (test/e2e/container-job.sh): its own
 * mount namespace with a private /tmp, no binfmt_misc, as user. The run's directory, the action itself,
 * the Node that runs it and the directories in `keep` (a volume the job shares with a sidecar) stay
 * visible, even where they are under /tmp.
 */
export const containerJob = (user, dir, keep = []) => [
  'unshare',
  '--mount',
  '--propagation',
  'private',
  path.join(ROOT, 'test/e2e/container-job.sh'),
  user,
  [dir, path.dirname(ACTION), path.dirname(path.dirname((node ??= actionNode()).path)), ...keep].join(':')
]

function spawnStep(command, env, logFile, timeoutMs) {
  return new Promise(resolve => {
    const started = process.hrtime.bigint()
    const log = fs.openSync(logFile, 'w')
    const [tool, ...args] = command
    const child = spawn(tool, args, { env, stdio: ['ignore', log, log] })
    const timer = timeoutMs ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : undefined
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      fs.closeSync(log)
      resolve({ rc: code ?? 128 + (os.constants.signals[signal] ?? 0), ms: Number(process.hrtime.bigint() - started) / 1e6 })
    })
  })
}

/**
 * Runs main and then post, as the runner would. Options:
 *   dir       the run's directory (its files and RUNNER_TEMP are there); made when missing
 *   inputs    { name: value }
 *   post      true (default), false, or 'only' (post with the state an earlier main left in dir)
 *   env       variables to add or override (RUNNER_TOOL_CACHE, DOCKER_HOST, PATH...)
 *   clearEnv  start from an empty environment but for `env` (as a bare runner would)
 *   wrap      a command prefix for both steps, e.g. ['runuser', '-u', 'user', '--']
 *   timeoutMs kill a step that runs longer
 * Returns { rc, postRc, ms, outputs, state, summary, mainLog, postLog, dir }.
 */
export async function runAction({ dir, inputs = {}, post = true, env = {}, clearEnv = false, wrap = [], timeoutMs } = {}) {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'setup-qemu-run-'))
  const files = {
    output: path.join(dir, 'output'),
    state: path.join(dir, 'state'),
    summary: path.join(dir, 'summary'),
    temp: path.join(dir, 'temp'),
    // a tool cache shared between runs is given as RUNNER_TOOL_CACHE, in env or inherited
    toolcache: env.RUNNER_TOOL_CACHE ?? (clearEnv ? undefined : process.env.RUNNER_TOOL_CACHE) ?? path.join(dir, 'toolcache')
  }
  fs.mkdirSync(files.temp, { recursive: true })
  fs.mkdirSync(files.toolcache, { recursive: true })
  if (post !== 'only') for (const f of [files.output, files.state, files.summary]) fs.writeFileSync(f, '')
  const base = clearEnv ? { PATH: process.env.PATH, HOME: process.env.HOME } : process.env
  const runnerEnv = {
    ...base,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: files.temp,
    RUNNER_TOOL_CACHE: files.toolcache,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [inputVariable(k), String(v)])),
    ...env
  }
  node ??= actionNode()
  const command = [...wrap, node.path, ACTION]
  const result = { dir, rc: undefined, postRc: undefined, ms: undefined }
  if (post !== 'only') {
    const main = await spawnStep(command, runnerEnv, path.join(dir, 'main.log'), timeoutMs)
    result.rc = main.rc
    result.ms = main.ms
  }
  if (post) {
    const state = Object.fromEntries(Object.entries(readRecords(files.state)).map(([k, v]) => [`STATE_${k}`, v]))
    result.postRc = (await spawnStep(command, { ...runnerEnv, ...state }, path.join(dir, 'post.log'), timeoutMs)).rc
  }
  const read = f => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '')
  return {
    ...result,
    outputs: readRecords(files.output),
    state: readRecords(files.state),
    summary: read(files.summary),
    mainLog: read(path.join(dir, 'main.log')),
    postLog: read(path.join(dir, 'post.log'))
  }
}

async function cli(argv) {
  const opts = { inputs: {}, post: true }
  let quiet = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--dir') opts.dir = argv[++i]
    else if (a === '--no-post') opts.post = false
    else if (a === '--post-only') opts.post = 'only'
    else if (a === '--quiet') quiet = true
    else if (a.includes('=')) opts.inputs[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1)
    else {
      console.error('usage: node scripts/runner.mjs [--dir DIR] [--no-post] [--post-only] [--quiet] [input=value ...]')
      process.exit(2)
    }
  }
  if (opts.dir) fs.mkdirSync(opts.dir, { recursive: true })
  const r = await runAction(opts)
  // for scripts: exit codes, main's time, and the outputs as NAME=VALUE lines, beside the logs
  if (r.rc !== undefined) fs.writeFileSync(path.join(r.dir, 'main.rc'), `${r.rc}\n`)
  if (r.ms !== undefined) fs.writeFileSync(path.join(r.dir, 'main.ms'), `${Math.round(r.ms)}\n`)
  if (r.postRc !== undefined) fs.writeFileSync(path.join(r.dir, 'post.rc'), `${r.postRc}\n`)
  fs.writeFileSync(
    path.join(r.dir, 'outputs'),
    Object.entries(r.outputs)
      .map(([k, v]) => `${k}=${v}\n`)
      .join('')
  )
  if (!quiet) {
    if (opts.post !== 'only') process.stdout.write(r.mainLog)
    if (opts.post) process.stdout.write(r.postLog)
    console.log(
      `--- outputs (main exit code ${r.rc ?? 'not run'}${r.postRc !== undefined ? `, post exit code ${r.postRc}` : ''}; files in ${r.dir})`
    )
    for (const [k, v] of Object.entries(r.outputs)) console.log(`${k}=${v}`)
  }
  process.exit(r.rc ?? r.postRc ?? 0)
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await cli(process.argv.slice(2))
