import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { ApiRelease } from '../../scripts/ci/binfmt.mjs'
import { readPins } from '../../scripts/ci/pins.mjs'
import { SOURCE_FILES, apply, main, plan, prBody, unexpectedChanges, type Source } from '../../scripts/ci/update-pins.mjs'
import { releaseNotes } from '../../scripts/ci/changelog.mjs'
import { captured, fixture, tempDir } from './helpers.js'

const releases = JSON.parse(fixture('binfmt-releases.sample.json')) as ApiRelease[]
const release = releases.find(r => r.tag_name === 'deploy/v10.2.4-70')!
const imageInspect = fixture('imagetools-binfmt.sample.json')
const helperInspect = fixture('imagetools-busybox.sample.json')
const imageDigest = JSON.parse(imageInspect).digest as string
const helperDigest = JSON.parse(helperInspect).digest as string
const source = (): Source => ({
  constants: fixture('constants.ts.txt'),
  releases: fixture('releases.ts.txt'),
  action: fixture('action.yml.txt'),
  readme: fixture('README.excerpt.md'),
  changelog: fixture('CHANGELOG.md.txt')
})
const OLD = readPins(source())
/** What the registry would answer for the pinned tags as they are: nothing moved. */
const same = (ref: string) =>
  JSON.stringify({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: ref.split('@')[1], manifests: [] })

/** action.yml's default for an input, as __tests__/action-yml.test.ts reads it. */
const defaultOf = (yml: string, name: string) =>
  new RegExp(`^ {2}${name}:\\n(?: {4}.*\\n)*? {4}default: '([^']*)'`, 'm').exec(yml)?.[1]

describe('plan', () => {
  it('finds the newer deploy release, and the tags to resolve', () => {
    expect(plan(releases, source())).toEqual({
      current: '10.2.3-68',
      latest: '10.2.4-70',
      newer: true,
      release,
      image: 'docker.io/tonistiigi/binfmt:qemu-v10.2.4-70',
      helper: 'docker.io/library/busybox:1.37.0'
    })
    expect(plan(releases, source(), { includePrereleases: true }).latest).toBe('10.2.5-74')
  })

  it('keeps the pinned build when it is the newest, and still resolves the helper', () => {
    const older = releases.filter(r => !/10\.2\.[45]/.test(r.tag_name))
    expect(plan(older, source())).toMatchObject({
      latest: '10.2.3-68',
      newer: false,
      release: undefined,
      image: 'docker.io/tonistiigi/binfmt:qemu-v10.2.3-68'
    })
    expect(plan([], source())).toMatchObject({ latest: '', newer: false })
  })

  it('fails before any registry call when the new release cannot be pinned', () => {
    const broken = structuredClone(releases)
    broken.find(r => r.tag_name === 'deploy/v10.2.4-70')!.assets!.forEach(a => (a.digest = null))
    expect(() => plan(broken, source())).toThrow('no sha256 digest')
  })
})

describe('apply', () => {
  it('pins the new build everywhere: constants, table for every arch, action.yml, README, CHANGELOG', () => {
    const r = apply(source(), { release, imageInspect, helperInspect })
    const image = `docker.io/tonistiigi/binfmt:qemu-v10.2.4-70@${imageDigest}`
    const helper = `docker.io/library/busybox:1.37.0@${helperDigest}`
    const pins = readPins(r.files)
    expect(pins).toEqual({
      image,
      helper,
      version: '10.2.4-70',
      url: 'https://github.com/tonistiigi/binfmt/releases/download/deploy/v{version}/qemu_v10.2.4_linux-{arch}.tar.gz',
      table: ['amd64', 'arm64', 'ppc64le', 'riscv64', 's390x'].map(arch => ({
        version: '10.2.4-70',
        arch,
        sha256: release.assets!.find(a => a.name === `qemu_v10.2.4_linux-${arch}.tar.gz`)!.digest!.slice(7)
      }))
    })
    // action.yml's defaults agree with the constants, as __tests__/action-yml.test.ts demands
    expect(defaultOf(r.files.action, 'image')).toBe(image)
    expect(defaultOf(r.files.action, 'helper-image')).toBe(helper)
    expect(r.files.action.replace(image, OLD.image).replace(helper, OLD.helper)).toBe(source().action)
    expect(r.files.readme).toContain(`image: ${image}`)
    expect(r.files.readme).toContain('(`10.2.4-70`)')
    expect(releaseNotes(r.files.changelog.replace('## [Unreleased]', '## [9.9.9] - 2030-01-01'), '9.9.9')).toBe(
      '### Changed\n\n' +
        '- The default emulators are QEMU 10.2.4 from tonistiigi/binfmt deploy/v10.2.4-70 (image `docker.io/tonistiigi/binfmt:qemu-v10.2.4-70`, ' +
        'pinned by digest); `source: download` has the tarball checksums for amd64, arm64, ppc64le, riscv64, s390x hosts.\n' +
        `- The default \`helper-image\` follows \`docker.io/library/busybox:1.37.0\` to \`${helperDigest}\`.\n`
    )
    expect(r).toMatchObject({
      changed: true,
      warnings: [],
      title: 'Pin QEMU 10.2.4-70 (tonistiigi/binfmt deploy/v10.2.4-70) and refresh the helper image digest',
      branch: expect.stringMatching(/^update-pins\/10\.2\.4-70-[0-9a-f]{8}$/)
    })
    expect(r.changes).toEqual({
      from: { version: '10.2.3-68', image: OLD.image, helper: OLD.helper, arches: ['amd64'] },
      to: { version: '10.2.4-70', image, helper, arches: ['amd64', 'arm64', 'ppc64le', 'riscv64', 's390x'] },
      release: {
        tag: 'deploy/v10.2.4-70',
        url: 'https://github.com/tonistiigi/binfmt/releases/tag/deploy/v10.2.4-70',
        published: '2026-11-20T10:05:00Z'
      },
      readme: { replaced: 7, review: [8] }
    })
  })

  it('changes nothing when nothing moved, and names the same branch for the same update', () => {
    const r = apply(source(), { imageInspect: same(OLD.image), helperInspect: same(OLD.helper) })
    expect(r.changed).toBe(false)
    expect(r.files).toEqual(source())
    const a = apply(source(), { release, imageInspect, helperInspect })
    const b = apply(source(), { release, imageInspect, helperInspect })
    expect(a.branch).toBe(b.branch)
  })

  it('refreshes the helper digest alone', () => {
    const r = apply(source(), { imageInspect: same(OLD.image), helperInspect })
    expect(r.changed).toBe(true)
    expect(r.title).toBe('Refresh the helper image digest (docker.io/library/busybox:1.37.0)')
    expect(readPins(r.files)).toEqual({ ...OLD, helper: `docker.io/library/busybox:1.37.0@${helperDigest}` })
    expect(r.files.releases).toBe(source().releases)
  })

  it('keeps a pinned tag that now resolves elsewhere, with a warning', () => {
    const r = apply(source(), { imageInspect, helperInspect: same(OLD.helper) })
    expect(r.changed).toBe(false)
    expect(r.warnings).toEqual([expect.stringContaining('a released tag should not move')])
  })

  it('refuses an image without amd64 or arm64, and an action.yml whose defaults are not the pins', () => {
    const amd64Only = JSON.stringify({
      digest: imageDigest,
      manifests: [{ digest: imageDigest, platform: { os: 'linux', architecture: 'amd64' } }]
    })
    expect(() => apply(source(), { release, imageInspect: amd64Only, helperInspect })).toThrow('has no image for linux/arm64')
    const drifted = { ...source(), action: source().action.replace(OLD.image, 'docker.io/tonistiigi/binfmt:latest') }
    expect(() => apply(drifted, { release, imageInspect, helperInspect })).toThrow("action.yml: the image's default is not")
  })
})

describe('prBody', () => {
  const { changes } = apply(source(), { release, imageInspect, helperInspect })
  it('shows before and after, the checks on the branch, and what to review', () => {
    const body = prBody({
      changes: JSON.stringify(changes),
      ci: 'success',
      e2e: 'success',
      runUrl: 'https://github.com/o/r/actions/runs/1'
    })
    expect(body).toContain(
      '[tonistiigi/binfmt deploy/v10.2.4-70](https://github.com/tonistiigi/binfmt/releases/tag/deploy/v10.2.4-70)'
    )
    expect(body).toContain('| build (DEFAULT_VERSION) | `10.2.3-68` | `10.2.4-70` |')
    expect(body).toContain(
      '| tarball checksums (RELEASES) | `10.2.3-68: amd64` | `10.2.4-70: amd64, arm64, ppc64le, riscv64, s390x` |'
    )
    expect(body).toContain('- end-to-end on ubuntu-24.04 and ubuntu-24.04-arm: ✅ passed')
    expect(body).toContain('README.md still names the old QEMU version on lines 8')
    expect(body).not.toContain('Do not merge')
  })

  it('names the commit the checks ran on, which a later push to the branch is not', () => {
    const sha = 'f'.repeat(40)
    const body = prBody({ changes, ci: 'success', e2e: 'success', runUrl: 'u', sha })
    expect(body).toContain(`## Checks on \`${sha}\``)
    expect(body).toContain(`These results are for \`${sha}\` only: a later push to the branch is not covered by them.`)
    expect(prBody({ changes, ci: 'success', e2e: 'success', runUrl: 'u', sha: 'main; rm -rf' })).toContain(
      '## Checks on an unknown commit'
    )
  })

  it('says not to merge when a check failed', () => {
    const body = prBody({ changes, ci: 'success', e2e: 'failure', runUrl: 'u' })
    expect(body).toContain('end-to-end on ubuntu-24.04 and ubuntu-24.04-arm: ❌ failed')
    expect(body).toContain('**Do not merge**')
  })
})

describe('update-pins.mjs as the workflow runs it', () => {
  /** A copy of the fixtures laid out as the repository. */
  function repo(): { dir: string; remove: () => void } {
    const t = tempDir()
    const s = source()
    for (const [k, f] of Object.entries(SOURCE_FILES)) {
      fs.mkdirSync(path.dirname(path.join(t.dir, f)), { recursive: true })
      fs.writeFileSync(path.join(t.dir, f), s[k as keyof Source])
    }
    return t
  }
  const outputs = (file: string): Record<string, string> => {
    const out: Record<string, string> = {}
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^([^=<]+)=(.*)$/.exec(line)
      if (m) out[m[1]] = m[2]
    }
    return out
  }

  it('plan, then apply, rewrite the files and give the outputs the next steps use', async () => {
    const { dir, remove } = repo()
    const pins = path.join(dir, 'pins')
    fs.writeFileSync(path.join(dir, 'releases.json'), JSON.stringify(releases))
    const env = { GITHUB_OUTPUT: path.join(dir, 'plan.out') }
    const p = await captured(() =>
      main(['plan', '--releases', path.join(dir, 'releases.json'), '--out', pins, '--include-prereleases', 'false'], {
        root: dir,
        env
      })
    )
    expect(p.result).toBe(0)
    expect(outputs(env.GITHUB_OUTPUT)).toEqual({
      current: '10.2.3-68',
      latest: '10.2.4-70',
      newer: 'true',
      image: 'docker.io/tonistiigi/binfmt:qemu-v10.2.4-70',
      helper: 'docker.io/library/busybox:1.37.0'
    })
    expect(JSON.parse(fs.readFileSync(path.join(pins, 'release.json'), 'utf8')).tag_name).toBe('deploy/v10.2.4-70')

    fs.writeFileSync(path.join(pins, 'image.json'), imageInspect)
    fs.writeFileSync(path.join(pins, 'helper.json'), helperInspect)
    const applyEnv = { GITHUB_OUTPUT: path.join(dir, 'apply.out') }
    const a = await captured(() => main(['apply', '--dir', pins], { root: dir, env: applyEnv }))
    expect(a.result).toBe(0)
    const out = outputs(applyEnv.GITHUB_OUTPUT)
    expect(out.changed).toBe('true')
    expect(out.branch).toMatch(/^update-pins\/10\.2\.4-70-/)
    expect(JSON.parse(out.changes).to.version).toBe('10.2.4-70')
    const written = readPins({
      constants: fs.readFileSync(path.join(dir, SOURCE_FILES.constants), 'utf8'),
      releases: fs.readFileSync(path.join(dir, SOURCE_FILES.releases), 'utf8')
    })
    expect(written.version).toBe('10.2.4-70')
    expect(fs.readFileSync(path.join(dir, 'action.yml'), 'utf8')).toContain(written.image)

    const body = await captured(() =>
      main(['pr-body'], { root: dir, env: { CHANGES: out.changes, CI_RESULT: 'success', E2E_RESULT: 'skipped', RUN_URL: 'u' } })
    )
    expect(body.result).toBe(0)
    remove()
  })

  it('plan removes a release.json left from an earlier run when nothing is newer', async () => {
    const { dir, remove } = repo()
    const pins = path.join(dir, 'pins')
    fs.mkdirSync(pins)
    fs.writeFileSync(path.join(pins, 'release.json'), '{}')
    fs.writeFileSync(path.join(dir, 'releases.json'), '[]')
    await captured(() =>
      main(['plan', '--releases', path.join(dir, 'releases.json'), '--out', pins], {
        root: dir,
        env: { GITHUB_OUTPUT: path.join(dir, 'o') }
      })
    )
    expect(fs.existsSync(path.join(pins, 'release.json'))).toBe(false)
    remove()
  })

  it('verify-assets downloads the tarballs of release.json', async () => {
    const { dir, remove } = repo()
    fs.writeFileSync(path.join(dir, 'release.json'), JSON.stringify(release))
    const fetched: string[] = []
    const fetchImpl = async (url: string) => {
      fetched.push(url)
      return { ok: false, status: 503, body: [] }
    }
    await expect(captured(() => main(['verify-assets', '--dir', dir], { root: dir, env: {}, fetchImpl }))).rejects.toThrow(
      'HTTP 503'
    )
    expect(fetched).toEqual([
      'https://github.com/tonistiigi/binfmt/releases/download/deploy/v10.2.4-70/qemu_v10.2.4_linux-amd64.tar.gz'
    ])
    remove()
  })

  it('checksum-known says whether this runner has a pinned tarball', async () => {
    const { dir, remove } = repo()
    for (const [arch, known] of [
      ['X64', 'true'],
      ['ARM64', 'false']
    ]) {
      const env = { GITHUB_OUTPUT: path.join(dir, `${arch}.out`), RUNNER_ARCH: arch }
      const r = await captured(() => main(['checksum-known'], { root: dir, env }))
      expect(outputs(env.GITHUB_OUTPUT).known).toBe(known)
      expect(r.lines.some(l => l.startsWith('::notice::no pinned checksum'))).toBe(known === 'false')
    }
    remove()
  })

  it('refuses an unknown command', async () => {
    const r = await captured(() => main(['nonsense'], { env: {} }))
    expect(r.result).toBe(2)
  })
})

describe('the update the job without a write token hands over', () => {
  /** A repository as update-pins checks it out: the pins, dist/, a workflow and the scripts. */
  function repo(): { dir: string; git: (...args: string[]) => string; remove: () => void } {
    const t = tempDir()
    const git = (...args: string[]): string =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: t.dir, encoding: 'utf8' })
    const files: Record<string, string> = {
      ...Object.fromEntries(Object.values(SOURCE_FILES).map(f => [f, `${f}\n`])),
      'dist/index.js': 'bundle\n',
      'dist/licenses.txt': 'licenses\n',
      '.github/workflows/ci.yml': 'name: ci\n',
      'scripts/ci/update-pins.mjs': 'the committed script\n'
    }
    for (const [f, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(t.dir, f)), { recursive: true })
      fs.writeFileSync(path.join(t.dir, f), text)
    }
    git('init', '-q')
    git('add', '-A')
    git('commit', '-q', '-m', 'base')
    return { dir: t.dir, git, remove: t.remove }
  }
  /** What the pushing job checks: the staged changes, as git lists them. */
  const staged = (git: (...args: string[]) => string): string => git('diff', '--cached', '--raw', '-z', '--no-renames')
  const write = (dir: string, f: string, text: string): void => fs.writeFileSync(path.join(dir, f), text)

  it('may change the pins apply rewrites, and add, change or remove files under dist/', () => {
    const { dir, git, remove } = repo()
    write(dir, SOURCE_FILES.constants, 'new pins\n')
    write(dir, SOURCE_FILES.changelog, 'new entry\n')
    write(dir, 'dist/index.js', 'rebuilt\n')
    write(dir, 'dist/chunk.js', 'a new chunk\n')
    fs.rmSync(path.join(dir, 'dist/licenses.txt'))
    git('add', '-A')
    expect(unexpectedChanges(staged(git))).toEqual([])
    remove()
  })

  it.each([
    [
      'a workflow',
      (dir: string) => write(dir, '.github/workflows/ci.yml', 'name: ci\non: push\n'),
      /"\.github\/workflows\/ci\.yml" \(M\)/
    ],
    [
      'a script',
      (dir: string) => write(dir, 'scripts/ci/update-pins.mjs', 'other code\n'),
      /"scripts\/ci\/update-pins\.mjs" \(M\)/
    ],
    ['a file of its own', (dir: string) => write(dir, 'evil.sh', 'x\n'), /"evil\.sh" \(A\)/],
    ['a pin file removed', (dir: string) => fs.rmSync(path.join(dir, SOURCE_FILES.constants)), /"src\/constants\.ts" \(D\)/],
    [
      'a link in dist/',
      (dir: string) => fs.symlinkSync('../.github/workflows/ci.yml', path.join(dir, 'dist/link.js')),
      /"dist\/link\.js": mode 000000 -> 120000/
    ],
    [
      'an executable in dist/',
      (dir: string) => fs.chmodSync(path.join(dir, 'dist/index.js'), 0o755),
      /"dist\/index\.js": mode 100644 -> 100755/
    ]
  ])('may not change %s', (_, change, problem) => {
    const { dir, git, remove } = repo()
    write(dir, 'dist/index.js', 'rebuilt\n')
    change(dir)
    git('add', '-A')
    const problems = unexpectedChanges(staged(git))
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(problem)
    remove()
  })

  it('must change something, and be what git lists', () => {
    expect(unexpectedChanges('')).toEqual(['the update changes nothing'])
    expect(unexpectedChanges('M\0dist/index.js\0')[0]).toMatch(/^not a line of git diff --raw -z/)
  })

  it('goes into the index only, as the pushing job applies it, so its check is the committed script', async () => {
    const from = repo()
    write(from.dir, SOURCE_FILES.releases, 'new checksums\n')
    write(from.dir, 'dist/index.js', 'rebuilt\n')
    write(from.dir, 'scripts/ci/update-pins.mjs', 'a patched check that passes anything\n')
    // as the job that built dist/ makes the patch (it adds these paths only), with the script added by hand
    from.git('add', '-A', '--', 'src', 'action.yml', 'README.md', 'CHANGELOG.md', 'dist', 'scripts')
    const patch = path.join(from.dir, '..', `${path.basename(from.dir)}.patch`)
    fs.writeFileSync(patch, from.git('diff', '--cached', '--binary', '--no-renames'))

    const to = repo()
    to.git('apply', '--cached', patch)
    expect(fs.readFileSync(path.join(to.dir, 'scripts/ci/update-pins.mjs'), 'utf8')).toBe('the committed script\n')
    const raw = path.join(to.dir, '..', `${path.basename(to.dir)}.raw`)
    fs.writeFileSync(raw, staged(to.git))
    const r = await captured(() => main(['check-changes', '--raw', raw], { root: to.dir, env: {} }))
    expect(r.result).toBe(1)
    expect(r.lines).toEqual([
      expect.stringMatching(/^::error::"scripts\/ci\/update-pins\.mjs" \(M\): the update may change only/)
    ])

    to.git('reset', '-q', '--', 'scripts')
    fs.writeFileSync(raw, staged(to.git))
    const ok = await captured(() => main(['check-changes', '--raw', raw], { root: to.dir, env: {} }))
    expect(ok.result).toBe(0)
    expect(ok.lines).toEqual(['the update changes only the pins and dist/'])
    for (const f of [patch, raw]) fs.rmSync(f)
    from.remove()
    to.remove()
  })
})
