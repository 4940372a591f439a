#!/usr/bin/env node
/**
 * The pin-update workflow's steps (.github/workflows/update-pins.yml), run from the repository root:
 *
 *   plan --releases FILE --out DIR [--include-prereleases true]
 *       FILE: GET /repos/tonistiigi/binfmt/releases. Finds the newest deploy release; when it is newer than
 *       DEFAULT_VERSION, checks its tarballs and writes it to DIR/release.json. Outputs current, latest,
 *       newer, image (the tag to resolve: the new build's, or the pinned one's) and helper (the helper's tag).
 *   verify-assets --dir DIR
 *       downloads each tarball of DIR/release.json and checks it against the digest the API gave, and checks
 *       the Sigstore bundle beside each (provenance.mjs): signed in GitHub Actions for tonistiigi/binfmt, for
 *       that tarball's SHA-256.
 *   verify-image --dir DIR
 *       DIR/image.json: the image to pin. Its index, fetched from Docker Hub by that digest, must have a signed
 *       provenance attestation for each required platform whose certificate names tonistiigi/binfmt.
 *   apply --dir DIR
 *       DIR/image.json and DIR/helper.json: `docker buildx imagetools inspect REF --format '{{json .Manifest}}'`
 *       of image and helper. Rewrites src/constants.ts, src/acquire/releases.ts, action.yml, README.md and
 *       CHANGELOG.md (an Unreleased entry);
 *       outputs changed, branch, title and changes (JSON, for pr-body).
 *   check-changes --raw FILE
 *       FILE: `git diff --cached --raw -z --no-renames` once the update is applied in the job that pushes it.
 *       Fails unless only the files apply rewrites and dist/ change, each a regular file.
 *   pr-body
 *       the pull request's text, from the environment: CHANGES, CI_RESULT, E2E_RESULT, RUN_URL, TESTED_SHA.
 *   checksum-known
 *       whether the RELEASES table has the default version's tarball for this runner (RUNNER_ARCH):
 *       outputs known and arch.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import process from 'node:process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import {
  IMAGE_REPOSITORY,
  UPSTREAM,
  compareVersions,
  imageTag,
  latestDeployRelease,
  parseImageDigest,
  qemuVersion,
  releaseTarballs,
  urlTemplate,
  verifyTarballs
} from './binfmt.mjs'
import {
  FILES,
  mentions,
  readPins,
  replaceRef,
  replaceVersion,
  rewriteConstants,
  rewriteReleases,
  runnerTarballArch,
  splitRef
} from './pins.mjs'
import { error, log, notice, parseArgs, setOutputs, warning } from './outputs.mjs'
import { dockerHub, sigstoreVerify, verifyImageProvenance, verifyTarballProvenance } from './provenance.mjs'
import { addUnreleased } from './changelog.mjs'

const REQUIRED_PLATFORMS = ['linux/amd64', 'linux/arm64']
/** The files apply reads and may rewrite. */
export const SOURCE_FILES = { ...FILES, changelog: 'CHANGELOG.md' }

function readSource(root) {
  const read = f => fs.readFileSync(path.join(root, f), 'utf8')
  return Object.fromEntries(Object.entries(SOURCE_FILES).map(([k, f]) => [k, read(f)]))
}

/** What plan decides, from the API's list and the source. */
export function plan(releases, source, { includePrereleases = false } = {}) {
  const pins = readPins(source)
  const latest = latestDeployRelease(releases, { includePrereleases })
  const newer = latest !== undefined && compareVersions(latest.version, pins.version) > 0
  if (newer) urlTemplate(latest.release) // checks the tarballs and their digests now, before any registry call
  return {
    current: pins.version,
    latest: latest?.version ?? '',
    newer,
    release: newer ? latest.release : undefined,
    image: newer ? imageTag(latest.version) : splitRef(pins.image).name,
    helper: splitRef(pins.helper).name
  }
}

function resolved(name, inspectOutput, { requirePlatforms }) {
  const { digest, platforms } = parseImageDigest(inspectOutput)
  if (requirePlatforms && platforms.length) {
    const missing = REQUIRED_PLATFORMS.filter(p => !platforms.includes(p))
    if (missing.length) throw new Error(`${name} has no image for ${missing.join(', ')} (it has ${platforms.join(', ')})`)
  }
  return `${name}@${digest}`
}

/**
 * The new source and what changed. release: the deploy release to pin, or undefined to keep the version;
 * imageInspect, helperInspect: the registry's answers for the image tag and the helper tag.
 */
export function apply(source, { release, imageInspect, helperInspect }) {
  const from = readPins(source)
  const warnings = []
  const to = { ...from }
  if (release) {
    const tarballs = releaseTarballs(release)
    to.version = release.tag_name.replace(/^deploy\/v/, '')
    to.url = urlTemplate(release, tarballs)
    to.table = tarballs.map(t => ({ version: to.version, arch: t.arch, sha256: t.sha256 }))
    to.image = resolved(imageTag(to.version), imageInspect, { requirePlatforms: true })
  } else {
    const now = resolved(splitRef(from.image).name, imageInspect, { requirePlatforms: true })
    if (now !== from.image) {
      warnings.push(
        `${splitRef(from.image).name} now resolves to ${splitRef(now).digest}, not the pinned ${splitRef(from.image).digest}: a released tag should not move, so the pin stays; look into it`
      )
    }
  }
  to.helper = resolved(splitRef(from.helper).name, helperInspect, { requirePlatforms: false })

  const out = { ...source }
  out.constants = rewriteConstants(source.constants, { image: to.image, helper: to.helper })
  if (release) out.releases = rewriteReleases(source.releases, to)
  const counts = {}
  for (const file of ['action', 'readme']) {
    let t = out[file]
    let n = 0
    for (const [a, b] of [
      [from.image, to.image],
      [from.helper, to.helper]
    ]) {
      const r = replaceRef(t, a, b)
      t = r.text
      n += r.count
    }
    if (release) {
      const r = replaceVersion(t, from.version, to.version)
      t = r.text
      n += r.count
    }
    out[file] = t
    counts[file] = n
  }
  const changedImage = to.image !== from.image
  const changedHelper = to.helper !== from.helper
  if (changedImage && !out.action.includes(to.image))
    throw new Error(`${FILES.action}: the image's default is not ${from.image}, so it could not be updated`)
  if (changedHelper && !out.action.includes(to.helper))
    throw new Error(`${FILES.action}: the helper-image default is not ${from.helper}, so it could not be updated`)

  const changed = changedImage || changedHelper || to.version !== from.version
  const review =
    release && qemuVersion(from.version) !== qemuVersion(to.version) ? mentions(out.readme, qemuVersion(from.version)) : []
  const changes = {
    from: { version: from.version, image: from.image, helper: from.helper, arches: from.table.map(r => r.arch) },
    to: { version: to.version, image: to.image, helper: to.helper, arches: to.table.map(r => r.arch) },
    release: release ? { tag: release.tag_name, url: release.html_url ?? '', published: release.published_at ?? '' } : undefined,
    readme: { replaced: counts.readme, review }
  }
  if (to.version !== from.version) {
    out.changelog = addUnreleased(
      out.changelog,
      'Changed',
      `The default emulators are QEMU ${qemuVersion(to.version)} from ${UPSTREAM} deploy/v${to.version} (image \`${splitRef(to.image).name}\`, ` +
        `pinned by digest); \`source: download\` has the tarball checksums for ${to.table.map(r => r.arch).join(', ')} hosts.`
    )
  }
  if (changedHelper) {
    out.changelog = addUnreleased(
      out.changelog,
      'Changed',
      `The default \`helper-image\` follows \`${splitRef(to.helper).name}\` to \`${splitRef(to.helper).digest}\`.`
    )
  }
  const hash = createHash('sha256').update(`${to.image}\n${to.helper}`).digest('hex').slice(0, 8)
  const parts = []
  if (to.version !== from.version) parts.push(`Pin QEMU ${to.version} (${UPSTREAM} deploy/v${to.version})`)
  if (changedHelper)
    parts.push(parts.length ? 'refresh the helper image digest' : `Refresh the helper image digest (${splitRef(to.helper).name})`)
  if (!parts.length && changedImage) parts.push(`Refresh the image digest of QEMU ${to.version}`)
  return {
    files: out,
    changed,
    warnings,
    changes,
    branch: `update-pins/${to.version}-${hash}`,
    title: parts.join(' and ')
  }
}

/**
 * What is wrong with an update, from `git diff --cached --raw -z --no-renames` (raw): it may change only
 * the files apply rewrites, in place, and files under dist/ (added, changed or removed), each a regular
 * file. The job that builds dist/ runs npm code and holds no write token; this is what the job that
 * pushes checks of its work. One problem a line; none when the update is only that.
 */
export function unexpectedChanges(raw) {
  const pins = new Set(Object.values(SOURCE_FILES))
  const fields = raw.split('\0')
  if (fields.at(-1) === '') fields.pop()
  const problems = []
  if (fields.length === 0) problems.push('the update changes nothing')
  for (let i = 0; i < fields.length; i += 2) {
    const m = /^:([0-7]{6}) ([0-7]{6}) [0-9a-f]+ [0-9a-f]+ ([A-Z])$/.exec(fields[i])
    const file = fields[i + 1]
    if (!m || file === undefined) {
      problems.push(`not a line of git diff --raw -z: ${JSON.stringify(fields[i])}`)
      break
    }
    const [, before, after, status] = m
    const regular = [before, after].every(mode => mode === '100644' || mode === '000000')
    const inDist = file.startsWith('dist/') && !file.split('/').some(part => part === '' || part === '.' || part === '..')
    if (pins.has(file) ? status !== 'M' : !inDist || !['A', 'M', 'D'].includes(status)) {
      problems.push(
        `${JSON.stringify(file)} (${status}): the update may change only ${[...pins].join(', ')} and files under dist/`
      )
    } else if (!regular) problems.push(`${JSON.stringify(file)}: mode ${before} -> ${after}, not a regular file`)
  }
  return problems
}

const RESULT = { success: '✅ passed', failure: '❌ failed', cancelled: '⚪ cancelled', skipped: '⚪ skipped' }

/** The pull request's text; sha is the commit the checks ran on. */
export function prBody({ changes, ci, e2e, runUrl, sha }) {
  const tested = /^[0-9a-f]{40}$/.test(sha ?? '') ? `\`${sha}\`` : 'an unknown commit'
  const c = typeof changes === 'string' ? JSON.parse(changes) : changes
  const row = (what, a, b) => `| ${what} | \`${a}\` | ${a === b ? 'unchanged' : `\`${b}\``} |`
  const lines = ['This pull request was made by the `update-pins` workflow.', '']
  if (c.release)
    lines.push(
      `New release: [${UPSTREAM} ${c.release.tag}](${c.release.url})${c.release.published ? `, published ${c.release.published}` : ''}.`,
      ''
    )
  lines.push('| pin | before | after |', '|---|---|---|')
  lines.push(row('build (DEFAULT_VERSION)', c.from.version, c.to.version))
  lines.push(row('image (DEFAULT_IMAGE)', c.from.image, c.to.image))
  lines.push(row('helper (DEFAULT_HELPER_IMAGE)', c.from.helper, c.to.helper))
  lines.push(
    row(
      'tarball checksums (RELEASES)',
      `${c.from.version}: ${c.from.arches.join(', ')}`,
      `${c.to.version}: ${c.to.arches.join(', ')}`
    )
  )
  lines.push(
    '',
    'The checksums are the digests GitHub publishes for the release assets; each tarball was downloaded and',
    'checked against them. For a new release, the Sigstore bundle beside each tarball and the signed provenance',
    'of the image were verified: certificates from GitHub Actions that name tonistiigi/binfmt, for these digests.',
    'The image digests are what the registry resolves the tags to. `dist/` is rebuilt.',
    '',
    `## Checks on ${tested}`,
    '',
    `- unit tests, lint, dist: ${RESULT[ci] ?? ci}`,
    `- end-to-end on ubuntu-24.04 and ubuntu-24.04-arm: ${RESULT[e2e] ?? e2e}`,
    '',
    `These results are for ${tested} only: a later push to the branch is not covered by them.`,
    '',
    `[The run](${runUrl}). A pull request opened with the workflow's token does not start the repository's`,
    '`pull_request` workflows: close and reopen it to run them here.'
  )
  if (c.readme?.review?.length) {
    lines.push(
      '',
      `README.md still names the old QEMU version on lines ${c.readme.review.join(', ')}: check them before merging.`
    )
  }
  if (ci !== 'success' || e2e !== 'success')
    lines.push('', '**Do not merge** until the checks above pass: this pull request is a draft for that reason.')
  return lines.join('\n') + '\n'
}

/**
 * main(argv) with the repository root, environment, fetch and Sigstore bundle verifier to use (verify(bundle)
 * resolves to the signer, or throws); returns the exit code.
 */
export async function main(
  argv,
  { root = process.cwd(), env = process.env, fetchImpl = globalThis.fetch, verify = sigstoreVerify, registry } = {}
) {
  const a = parseArgs(argv)
  switch (a._[0]) {
    case 'plan': {
      const releases = JSON.parse(fs.readFileSync(a.releases, 'utf8'))
      const p = plan(releases, readSource(root), { includePrereleases: a['include-prereleases'] === 'true' })
      fs.mkdirSync(a.out, { recursive: true })
      fs.rmSync(path.join(a.out, 'release.json'), { force: true })
      if (p.release) fs.writeFileSync(path.join(a.out, 'release.json'), JSON.stringify(p.release, null, 2))
      setOutputs({ current: p.current, latest: p.latest, newer: p.newer, image: p.image, helper: p.helper }, env.GITHUB_OUTPUT)
      notice(
        p.newer
          ? `${UPSTREAM} deploy/v${p.latest} is newer than the pinned ${p.current}`
          : `the pinned ${p.current} is the newest deploy release (${p.latest || 'none found'})`
      )
      return 0
    }
    case 'verify-assets': {
      const release = JSON.parse(fs.readFileSync(path.join(a.dir, 'release.json'), 'utf8'))
      const tarballs = releaseTarballs(release)
      for (const r of await verifyTarballs(tarballs, fetchImpl)) log(`${r.name}: sha256 ${r.sha256} as published`)
      for (const r of await verifyTarballProvenance(release, tarballs, { fetchImpl, verify }))
        log(`${r.name}: signed provenance for sha256 ${r.sha256}, certificate for ${r.repository} (${r.identity})`)
      return 0
    }
    case 'verify-image': {
      const { digest } = parseImageDigest(fs.readFileSync(path.join(a.dir, 'image.json'), 'utf8'))
      const hub = registry ?? dockerHub(IMAGE_REPOSITORY.replace(/^docker\.io\//, ''), fetchImpl)
      for (const r of await verifyImageProvenance(digest, { registry: hub, verify, platforms: REQUIRED_PLATFORMS }))
        log(`${r.platform}: ${r.manifest} has signed provenance (${r.attestation}), certificate for ${r.repository}`)
      return 0
    }
    case 'apply': {
      const releaseFile = path.join(a.dir, 'release.json')
      const release = fs.existsSync(releaseFile) ? JSON.parse(fs.readFileSync(releaseFile, 'utf8')) : undefined
      const source = readSource(root)
      const r = apply(source, {
        release,
        imageInspect: fs.readFileSync(path.join(a.dir, 'image.json'), 'utf8'),
        helperInspect: fs.readFileSync(path.join(a.dir, 'helper.json'), 'utf8')
      })
      for (const w of r.warnings) warning(w)
      if (r.changed) {
        for (const [k, f] of Object.entries(SOURCE_FILES))
          if (r.files[k] !== source[k]) fs.writeFileSync(path.join(root, f), r.files[k])
        notice(r.title)
      } else {
        notice('the pins are current')
      }
      setOutputs({ changed: r.changed, branch: r.branch, title: r.title, changes: JSON.stringify(r.changes) }, env.GITHUB_OUTPUT)
      return 0
    }
    case 'pr-body': {
      process.stdout.write(
        prBody({ changes: env.CHANGES, ci: env.CI_RESULT, e2e: env.E2E_RESULT, runUrl: env.RUN_URL, sha: env.TESTED_SHA })
      )
      return 0
    }
    case 'check-changes': {
      const problems = unexpectedChanges(fs.readFileSync(a.raw, 'utf8'))
      for (const p of problems) error(p)
      if (problems.length) return 1
      log('the update changes only the pins and dist/')
      return 0
    }
    case 'checksum-known': {
      const pins = readPins(readSource(root))
      const arch = runnerTarballArch(env.RUNNER_ARCH)
      const known = pins.table.some(r => r.version === pins.version && r.arch === arch)
      setOutputs({ known, arch: arch ?? '' }, env.GITHUB_OUTPUT)
      if (!known)
        notice(
          `no pinned checksum for the ${pins.version} tarball on ${arch ?? env.RUNNER_ARCH} hosts yet: the update-pins workflow adds one`
        )
      return 0
    }
    default:
      error(
        'usage: update-pins.mjs plan|verify-assets|verify-image|apply|check-changes|pr-body|checksum-known (see the comment at its top)'
      )
      return 2
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    code => {
      process.exitCode = code
    },
    err => {
      error(err.message)
      process.exitCode = 1
    }
  )
}
