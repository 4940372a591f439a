/**
 * The workflow files as the lint rules read them: the maintained `yaml` package parses them, and this
 * gives each node its kind, its 1-based line, its trailing comment (the `# vX.Y.Z` after a pinned
 * `uses:`), and scalars as the text they were written as (`false`, `1`), which is what the rules compare.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml'

export class YamlError extends Error {
  constructor(line, message) {
    super(`line ${line}: ${message}`)
    this.line = line
  }
}

/** Parses one YAML document into nodes; a YAML error throws a YamlError with its line. */
export function parseYaml(source) {
  const lines = new LineCounter()
  const doc = parseDocument(source, { lineCounter: lines, uniqueKeys: true })
  const problem = doc.errors[0]
  if (problem)
    throw new YamlError(problem.linePos?.[0].line ?? 1, problem.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''))
  const lineOf = n => (n?.range ? lines.linePos(n.range[0]).line : 1)
  const convert = n => {
    const common = { line: lineOf(n), ...(n?.comment ? { comment: n.comment.trim() } : {}) }
    if (isMap(n)) {
      return {
        kind: 'map',
        ...common,
        pairs: n.items.map(p => ({
          key: String(isScalar(p.key) ? p.key.value : p.key),
          line: lineOf(p.key),
          value: convert(p.value)
        }))
      }
    }
    if (isSeq(n)) return { kind: 'seq', ...common, items: n.items.map(convert) }
    const value = isScalar(n) && n.value !== null ? String(n.value) : null
    return { kind: 'scalar', ...common, value, block: isScalar(n) && n.type?.startsWith('BLOCK') }
  }
  return doc.contents === null ? null : convert(doc.contents)
}

/** The value node of a map's key. */
export const get = (node, key) => pair(node, key)?.value

/** A map's key with its line and value node. */
export const pair = (node, key) => (node?.kind === 'map' ? node.pairs.find(p => p.key === key) : undefined)

/** A scalar's text; undefined for anything else. */
export const text = node => (node?.kind === 'scalar' ? (node.value ?? undefined) : undefined)

/** The plain value a node stands for, scalars as text. */
export function toValue(node) {
  if (!node) return null
  if (node.kind === 'map') return Object.fromEntries(node.pairs.map(p => [p.key, toValue(p.value)]))
  if (node.kind === 'seq') return node.items.map(toValue)
  return node.value
}
