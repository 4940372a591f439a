/**
 * A reader for the subset of YAML that this repository's workflow and Dependabot files use: block
 * mappings and sequences, plain, quoted and block (| >) scalars, one-line flow sequences and empty flow
 * mappings. Comments after a scalar are kept on it (`# v7.0.1` after a `uses:` SHA is what the lint reads).
 * Anything else (anchors, aliases, tags, several documents, multi-line plain or quoted scalars, non-empty
 * flow mappings) is refused with its line number, so a lint rule never passes a file it could not read.
 *
 * Nodes: { kind: 'map', line, pairs: [{ key, line, value }] }, { kind: 'seq', line, items },
 *        { kind: 'scalar', line, value, comment?, quoted?, block? }. value is null for an empty value.
 */

export class YamlSubsetError extends Error {
  constructor(line, message) {
    super(`line ${line}: ${message}`)
    this.line = line
  }
}

const KEY = /^('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^\s'"#\-?:,[\]{}&*!|>%@`][^:#]*?|-[^\s:#][^:#]*?)\s*:(?:\s+|$)/

/** Splits off a trailing comment: a `#` at the start or after whitespace, outside quotes. */
function splitComment(text) {
  let quote = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quote) {
      if (c === quote) {
        if (quote === "'" && text[i + 1] === "'") i++
        else quote = ''
      } else if (quote === '"' && c === '\\') i++
    } else if ((c === "'" || c === '"') && (i === 0 || /[\s[,{:]/.test(text[i - 1]))) {
      quote = c
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      return { text: text.slice(0, i).trimEnd(), comment: text.slice(i + 1).trim() }
    }
  }
  return { text: text.trimEnd(), comment: undefined }
}

function unquote(text, line) {
  if (text.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(text))
      throw new YamlSubsetError(line, `unterminated or trailing text after a quoted scalar: ${text}`)
    return text.slice(1, -1).replace(/''/g, "'")
  }
  if (!/^"(?:[^"\\]|\\.)*"$/.test(text))
    throw new YamlSubsetError(line, `unterminated or trailing text after a quoted scalar: ${text}`)
  const escapes = { n: '\n', t: '\t', '"': '"', '\\': '\\', '/': '/', 0: '\0', r: '\r' }
  return text.slice(1, -1).replace(/\\(.)/g, (_, c) => {
    if (!(c in escapes)) throw new YamlSubsetError(line, `unsupported escape \\${c}`)
    return escapes[c]
  })
}

function splitFlow(inner, line) {
  const parts = []
  let quote = ''
  let start = 0
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]
    if (quote) {
      if (c === quote) quote = ''
      else if (quote === '"' && c === '\\') i++
    } else if (c === "'" || c === '"') quote = c
    else if (c === '[' || c === ']' || c === '{' || c === '}')
      throw new YamlSubsetError(line, 'nested flow collections are not supported')
    else if (c === ',') {
      parts.push(inner.slice(start, i))
      start = i + 1
    }
  }
  if (quote) throw new YamlSubsetError(line, 'unterminated quote in a flow sequence')
  parts.push(inner.slice(start))
  const items = parts.map(p => p.trim())
  if (items.length && items[items.length - 1] === '') items.pop()
  if (items.some(p => p === '')) throw new YamlSubsetError(line, 'empty item in a flow sequence')
  return items
}

function scalar(raw, line, comment) {
  const text = raw.trim()
  if (text === '' || text === '~' || text === 'null') return { kind: 'scalar', line, value: null, comment }
  if (text.startsWith("'") || text.startsWith('"'))
    return { kind: 'scalar', line, value: unquote(text, line), quoted: true, comment }
  if (text === '{}') return { kind: 'map', line, pairs: [], comment }
  if (text.startsWith('{')) throw new YamlSubsetError(line, 'flow mappings other than {} are not supported')
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) throw new YamlSubsetError(line, 'a flow sequence must end on its line')
    const items = splitFlow(text.slice(1, -1), line).map(p => scalar(p, line))
    return { kind: 'seq', line, items, flow: true, comment }
  }
  if (/^[&*!%@`]/.test(text))
    throw new YamlSubsetError(line, `anchors, aliases, tags and reserved indicators are not supported: ${text}`)
  if (/^[|>]/.test(text)) throw new YamlSubsetError(line, 'a block scalar indicator must end its line')
  return { kind: 'scalar', line, value: text, comment }
}

/** Parses text; returns the root node (a map, a sequence or a scalar), or null for an empty document. */
export function parseYaml(text) {
  const lines = text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((raw, i) => ({ raw, no: i + 1 }))
  let pos = 0
  // a single leading document marker is allowed
  while (pos < lines.length && isBlank(lines[pos].raw)) pos++
  if (pos < lines.length && /^---\s*(#.*)?$/.test(lines[pos].raw)) pos++

  function isBlank(raw) {
    return /^\s*(#.*)?$/.test(raw)
  }
  function indentOf(raw) {
    const m = /^( *)(\t?)/.exec(raw)
    return { n: m[1].length, tab: m[2] === '\t' }
  }
  /** The next meaningful line, skipping blank and comment-only ones. */
  function peek() {
    while (pos < lines.length && isBlank(lines[pos].raw)) pos++
    if (pos >= lines.length) return undefined
    const l = lines[pos]
    const ind = indentOf(l.raw)
    if (ind.tab) throw new YamlSubsetError(l.no, 'tabs are not allowed for indentation')
    if (/^(---|\.\.\.)(\s|$)/.test(l.raw)) throw new YamlSubsetError(l.no, 'several documents are not supported')
    return { ...l, indent: l.indent ?? ind.n, content: l.content ?? l.raw.slice(ind.n) }
  }

  function parseNode(minIndent) {
    const l = peek()
    if (!l || l.indent < minIndent) return null
    if (l.content === '-' || l.content.startsWith('- ')) return parseSeq(l.indent)
    if (KEY.test(l.content)) return parseMap(l.indent)
    const { text: t, comment } = splitComment(l.content)
    pos++
    const next = peek()
    if (next && next.indent > l.indent) throw new YamlSubsetError(next.no, 'multi-line plain scalars are not supported')
    return scalar(t, l.no, comment)
  }

  function blockScalar(indicator, parentIndent, line) {
    if (!/^[|>][-+]?$/.test(indicator)) throw new YamlSubsetError(line, `unsupported block scalar header: ${indicator}`)
    const body = []
    let blockIndent
    while (pos < lines.length) {
      const raw = lines[pos].raw
      if (raw.trim() === '') {
        body.push('')
        pos++
        continue
      }
      const n = indentOf(raw).n
      if (n <= parentIndent) break
      if (blockIndent === undefined) blockIndent = n
      if (n < blockIndent) throw new YamlSubsetError(lines[pos].no, 'a block scalar line is indented less than its first line')
      body.push(raw.slice(blockIndent))
      pos++
    }
    while (body.length && body[body.length - 1] === '') body.pop()
    const chomp = indicator[1]
    let value = indicator[0] === '|' ? body.join('\n') : body.join(' ').replace(/ {2,}/g, ' ')
    if (chomp !== '-' && value !== '') value += '\n'
    return { kind: 'scalar', line, value, block: true }
  }

  function valueAfterKey(rest, keyIndent, line) {
    const { text: t, comment } = splitComment(rest)
    if (/^[|>]/.test(t)) {
      pos++
      return blockScalar(t, keyIndent, line)
    }
    pos++
    if (t === '') {
      // a nested block; a sequence may sit at the key's own indent
      const next = peek()
      if (next && next.indent === keyIndent && (next.content === '-' || next.content.startsWith('- '))) return parseSeq(keyIndent)
      const child = next && next.indent > keyIndent ? parseNode(keyIndent + 1) : null
      if (child) {
        if (comment !== undefined && child.comment === undefined) child.headerComment = comment
        return child
      }
      return { kind: 'scalar', line, value: null, comment }
    }
    const node = scalar(t, line, comment)
    const next = peek()
    if (next && next.indent > keyIndent) throw new YamlSubsetError(next.no, 'unexpected indentation after a scalar value')
    return node
  }

  function parseMap(indent) {
    const first = peek()
    const node = { kind: 'map', line: first.no, pairs: [] }
    const seen = new Set()
    for (let l = peek(); l && l.indent === indent; l = peek()) {
      const m = KEY.exec(l.content)
      if (!m) throw new YamlSubsetError(l.no, `expected "key: value" here: ${l.content}`)
      const rawKey = m[1]
      const key = rawKey.startsWith("'") || rawKey.startsWith('"') ? unquote(rawKey, l.no) : rawKey.trim()
      if (seen.has(key)) throw new YamlSubsetError(l.no, `duplicate key "${key}"`)
      seen.add(key)
      const value = valueAfterKey(l.content.slice(m[0].length), indent, l.no)
      node.pairs.push({ key, line: l.no, value })
    }
    const l = peek()
    if (l && l.indent > indent) throw new YamlSubsetError(l.no, 'unexpected indentation')
    return node
  }

  function parseSeq(indent) {
    const node = { kind: 'seq', line: peek().no, items: [] }
    for (let l = peek(); l && l.indent === indent && (l.content === '-' || l.content.startsWith('- ')); l = peek()) {
      const rest = l.content === '-' ? '' : l.content.slice(2)
      const offset = l.content.length - rest.trimStart().length
      if (rest.trim() === '' || /^#/.test(rest.trim())) {
        pos++
        node.items.push(parseNode(indent + 1) ?? { kind: 'scalar', line: l.no, value: null })
      } else if (rest.trimStart().startsWith('- ')) {
        throw new YamlSubsetError(l.no, 'nested sequences on one line are not supported')
      } else {
        // "- key: value" or "- scalar": read the rest as if it stood on its own line, further in
        lines[pos] = { ...lines[pos], indent: indent + offset, content: rest.trimStart() }
        node.items.push(parseNode(indent + offset))
      }
    }
    const l = peek()
    if (l && l.indent > indent) throw new YamlSubsetError(l.no, 'unexpected indentation')
    return node
  }

  const root = parseNode(0)
  const rest = peek()
  if (rest) throw new YamlSubsetError(rest.no, 'unexpected content after the document')
  return root
}

/** The value under key in a map node, or undefined. */
export function get(node, key) {
  if (!node || node.kind !== 'map') return undefined
  return node.pairs.find(p => p.key === key)?.value
}

/** The pair (key, line, value) under key in a map node, or undefined. */
export function pair(node, key) {
  if (!node || node.kind !== 'map') return undefined
  return node.pairs.find(p => p.key === key)
}

/** A scalar's value as a string ('' for none), or undefined for a map or sequence. */
export function text(node) {
  if (!node) return undefined
  if (node.kind !== 'scalar') return undefined
  return node.value ?? ''
}

/** A plain JavaScript value for a node: objects, arrays and strings (null for empty). */
export function toValue(node) {
  if (!node) return null
  if (node.kind === 'scalar') return node.value
  if (node.kind === 'seq') return node.items.map(toValue)
  return Object.fromEntries(node.pairs.map(p => [p.key, toValue(p.value)]))
}
