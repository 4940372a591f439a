/**
 * The pins as the source holds them, read and rewritten as text:
 * - src/constants.ts: DEFAULT_IMAGE and DEFAULT_HELPER_IMAGE, each `export const NAME =\n  '<ref>'`;
 * - src/acquire/releases.ts: DEFAULT_VERSION ('X.Y.Z-N'), DEFAULT_URL (a template with {version} and
 *   {arch}) and the RELEASES table, one `{ version: '…', arch: '…', sha256: '…' }` a line;
 * - action.yml and README.md, which repeat the two image references (README also as `@sha256:abcd…wxyz`).
 * Each rewrite insists on finding its pattern exactly once, so a change of format fails loudly here
 * instead of leaving a pin behind.
 */

export const FILES = {
  constants: 'src/constants.ts',
  releases: 'src/acquire/releases.ts',
  action: 'action.yml',
  readme: 'README.md'
}

const DIGEST_REF = /^([^@\s]+)@(sha256:[0-9a-f]{64})$/
const ROW = /^\s*\{\s*version:\s*'([^']+)',\s*arch:\s*'([^']+)',\s*sha256:\s*'([0-9a-f]{64})'\s*\},?\s*$/

function constPattern(name) {
  return new RegExp(`(export const ${name}(?::[^=]+)?\\s*=\\s*')([^'\\n]*)(')`, 'g')
}

function only(text, pattern, what, file) {
  const matches = [...text.matchAll(pattern)]
  if (matches.length !== 1) {
    throw new Error(
      `${file}: found ${what} ${matches.length} times, expected once: has its format changed? (scripts/ci/pins.mjs reads it)`
    )
  }
  return matches[0]
}

const RELEASES_TABLE = /(export const RELEASES: readonly Release\[\] = \[\n)([\s\S]*?)(\n\])/g

/** { name, digest } of an image reference pinned by digest; throws for an unpinned one. */
export function splitRef(ref) {
  const m = DIGEST_REF.exec(ref)
  if (!m) throw new Error(`"${ref}" is not pinned by digest (name@sha256:…)`)
  return { name: m[1], digest: m[2] }
}

/** The pins the source holds now. */
export function readPins({ constants, releases }) {
  const image = only(constants, constPattern('DEFAULT_IMAGE'), 'DEFAULT_IMAGE', FILES.constants)[2]
  const helper = only(constants, constPattern('DEFAULT_HELPER_IMAGE'), 'DEFAULT_HELPER_IMAGE', FILES.constants)[2]
  splitRef(image)
  splitRef(helper)
  const version = only(releases, constPattern('DEFAULT_VERSION'), 'DEFAULT_VERSION', FILES.releases)[2]
  const url = only(releases, constPattern('DEFAULT_URL'), 'DEFAULT_URL', FILES.releases)[2]
  const body = only(releases, RELEASES_TABLE, 'the RELEASES table', FILES.releases)[2]
  const table = body
    .split('\n')
    .filter(l => l.trim() !== '')
    .map(l => {
      const m = ROW.exec(l)
      if (!m) throw new Error(`${FILES.releases}: cannot read this RELEASES row: ${l.trim()}`)
      return { version: m[1], arch: m[2], sha256: m[3] }
    })
  return { image, helper, version, url, table }
}

/** One row of the RELEASES table, as the source writes it. */
export const formatRow = r => `  { version: '${r.version}', arch: '${r.arch}', sha256: '${r.sha256}' }`

function replaceConst(text, name, value, file) {
  only(text, constPattern(name), name, file)
  return text.replace(constPattern(name), (_, head, _old, tail) => head + value + tail)
}

/** src/constants.ts with new image references. */
export function rewriteConstants(text, { image, helper }) {
  splitRef(image)
  splitRef(helper)
  return replaceConst(
    replaceConst(text, 'DEFAULT_IMAGE', image, FILES.constants),
    'DEFAULT_HELPER_IMAGE',
    helper,
    FILES.constants
  )
}

/** src/acquire/releases.ts with a new default version, URL template and table. */
export function rewriteReleases(text, { version, url, table }) {
  if (!table.length) throw new Error('the new RELEASES table is empty')
  for (const r of table) {
    if (!/^[0-9a-f]{64}$/.test(r.sha256) || /'/.test(r.version + r.arch)) throw new Error(`not a table row: ${JSON.stringify(r)}`)
  }
  if (/'/.test(version + url)) throw new Error('a quote in the version or URL')
  let out = replaceConst(text, 'DEFAULT_VERSION', version, FILES.releases)
  out = replaceConst(out, 'DEFAULT_URL', url, FILES.releases)
  only(out, RELEASES_TABLE, 'the RELEASES table', FILES.releases)
  const rows = table.map(formatRow).join(',\n')
  return out.replace(RELEASES_TABLE, (_, head, _old, tail) => head + rows + tail)
}

/**
 * text with every full and short form of oldRef replaced by newRef's; { text, count }. A short form is
 * name@sha256:<first hex digits>…<last hex digits> of any lengths from 3 to 16; the new one keeps them.
 */
export function replaceRef(text, oldRef, newRef) {
  if (oldRef === newRef) return { text, count: 0 }
  const from = splitRef(oldRef)
  const to = splitRef(newRef)
  const oldHex = from.digest.slice('sha256:'.length)
  const newHex = to.digest.slice('sha256:'.length)
  let count = 0
  let out = text.split(oldRef).join(newRef)
  count += text.split(oldRef).length - 1
  const short = new RegExp(`${escape(from.name)}@sha256:([0-9a-f]{3,16})…([0-9a-f]{3,16})(?![0-9a-f])`, 'g')
  out = out.replace(short, (all, head, tail) => {
    if (!oldHex.startsWith(head) || !oldHex.endsWith(tail)) return all
    count++
    return `${to.name}@sha256:${newHex.slice(0, head.length)}…${newHex.slice(-tail.length)}`
  })
  return { text: out, count }
}

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** text with the build version (X.Y.Z-N) replaced wherever it stands alone; { text, count }. */
export function replaceVersion(text, oldVersion, newVersion) {
  if (oldVersion === newVersion) return { text, count: 0 }
  let count = 0
  const out = text.replace(new RegExp(`(?<![\\w.-])(v?)${escape(oldVersion)}(?![\\w-]|\\.\\w)`, 'g'), (_, v) => {
    count++
    return v + newVersion
  })
  return { text: out, count }
}

/** Line numbers of text that still name QEMU version (X.Y.Z) as a word: for a person to review. */
export function mentions(text, version) {
  const pattern = new RegExp(`(?<![\\w.])${escape(version)}(?![\\w-]|\\.\\w)`)
  return text.split('\n').flatMap((line, i) => (pattern.test(line) ? [i + 1] : []))
}

/** The runner's RUNNER_ARCH in the release tarballs' naming (X64 → amd64), or undefined. */
export function runnerTarballArch(runnerArch) {
  return { X64: 'amd64', ARM64: 'arm64', ARM: 'arm-v7', X86: '386' }[runnerArch]
}

/** The known-bad QEMU table, one row a line (see its header). */
export const KNOWN_BAD_FILE = 'src/acquire/known-bad-qemu.ts'

const KNOWN_BAD_TABLE = /(export const KNOWN_BAD_QEMU: readonly KnownBadQemu\[\] = \[\n)([\s\S]*?)(\n\])/g
const KNOWN_BAD_FIELDS = ['from', 'below', 'severity', 'reason', 'link']
const FIELD = /(\w+): ('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")/g
const QEMU_VERSION = /^\d+\.\d+\.\d+$/

/** A row checked: known fields only, versions X.Y.Z, a severity, a reason and an https link. */
function checkKnownBad(row, where) {
  for (const k of Object.keys(row)) if (!KNOWN_BAD_FIELDS.includes(k)) throw new Error(`${where}: unknown field ${k}`)
  for (const k of ['from', 'below']) {
    if (row[k] !== undefined && !QEMU_VERSION.test(row[k])) throw new Error(`${where}: ${k} must be a QEMU version X.Y.Z`)
  }
  if (row.from === undefined && row.below === undefined) throw new Error(`${where}: give from, below or both`)
  if (!['warning', 'notice'].includes(row.severity)) throw new Error(`${where}: severity must be warning or notice`)
  if (!row.reason) throw new Error(`${where}: no reason`)
  if (!/^https:\/\/\S+$/.test(row.link ?? '')) throw new Error(`${where}: link must be an https URL`)
  return row
}

const unquote = q => (q.startsWith('"') ? JSON.parse(q) : q.slice(1, -1).replace(/\\(.)/g, '$1'))
const quote = v => (v.includes("'") ? JSON.stringify(v) : `'${v.replace(/\\/g, '\\\\')}'`)

/** The rows of the known-bad QEMU table, as the source holds them. */
export function readKnownBad(text) {
  const body = only(text, KNOWN_BAD_TABLE, 'the KNOWN_BAD_QEMU table', KNOWN_BAD_FILE)[2]
  return body
    .split('\n')
    .filter(l => l.trim() !== '')
    .map(l => {
      if (!/^\s*\{.*\},?\s*$/.test(l)) throw new Error(`${KNOWN_BAD_FILE}: cannot read this KNOWN_BAD_QEMU row: ${l.trim()}`)
      const row = Object.fromEntries([...l.matchAll(FIELD)].map(m => [m[1], unquote(m[2])]))
      return checkKnownBad(row, KNOWN_BAD_FILE)
    })
}

/** One row of the known-bad table, as the source writes it. */
export const formatKnownBad = row =>
  `  { ${KNOWN_BAD_FIELDS.filter(k => row[k] !== undefined)
    .map(k => `${k}: ${quote(row[k])}`)
    .join(', ')} }`

/** The source with one more known-bad row at the end of the table; a row for the same versions and link is refused. */
export function addKnownBad(text, row) {
  checkKnownBad(row, 'the new row')
  const rows = readKnownBad(text)
  if (rows.some(r => r.from === row.from && r.below === row.below && r.link === row.link)) {
    throw new Error(`${KNOWN_BAD_FILE}: it already has a row for ${row.link}`)
  }
  return text.replace(
    KNOWN_BAD_TABLE,
    (_, head, body, tail) => `${head}${body.replace(/,?\s*$/, ',')}\n${formatKnownBad(row)}${tail}`
  )
}
