import { describe, expect, it } from '@jest/globals'
import { get, parseYaml, text, toValue } from '../../scripts/ci/workflow-yaml.mjs'

describe('parseYaml gives the lint rules nodes with lines, comments and scalars as written', () => {
  it('reads mappings, sequences, sequences of mappings and nested blocks, with line numbers', () => {
    const doc = parseYaml(
      [
        'name: ci',
        'on:',
        '  push:',
        '    branches: [main, "release/*"]',
        '  pull_request:',
        'jobs:',
        '  test:',
        '    runs-on: ubuntu-24.04',
        '    steps:',
        '      - uses: actions/checkout@abc # v7.0.1',
        '        with:',
        '          persist-credentials: false',
        '      - run: npm test',
        'list:',
        '- a',
        '- b'
      ].join('\n')
    )
    expect(toValue(doc)).toEqual({
      name: 'ci',
      on: { push: { branches: ['main', 'release/*'] }, pull_request: null },
      jobs: {
        test: {
          'runs-on': 'ubuntu-24.04',
          steps: [{ uses: 'actions/checkout@abc', with: { 'persist-credentials': 'false' } }, { run: 'npm test' }]
        }
      },
      list: ['a', 'b']
    })
    const steps = get(get(get(doc, 'jobs'), 'test'), 'steps')
    expect(steps?.kind).toBe('seq')
    const uses = get(steps?.kind === 'seq' ? steps.items[0] : undefined, 'uses')
    expect(uses).toMatchObject({ line: 10, value: 'actions/checkout@abc', comment: 'v7.0.1' })
  })

  it('reads literal and folded block scalars, keeping # inside them as text', () => {
    const doc = parseYaml(
      [
        'a: |',
        '  echo "${{ x }}" # not a comment',
        '',
        '  second',
        'b: >-',
        '  one',
        '  two',
        'c: |-',
        '    kept',
        '      indented'
      ].join('\n')
    )
    expect(text(get(doc, 'a'))).toBe('echo "${{ x }}" # not a comment\n\nsecond\n')
    expect(text(get(doc, 'b'))).toBe('one two')
    expect(text(get(doc, 'c'))).toBe('kept\n  indented')
    expect(get(doc, 'a')).toMatchObject({ line: 1, block: true })
  })

  it('reads quoted scalars, keys, comments and empty flow mappings', () => {
    const doc = parseYaml(
      ["'on': push # trigger", 'q: "a \\"b\\" # c"', "s: 'it''s'", 'e: {}', 'n:', '# a comment line', 'u: x#y'].join('\n')
    )
    expect(toValue(doc)).toEqual({ on: 'push', q: 'a "b" # c', s: "it's", e: {}, n: null, u: 'x#y' })
    expect(get(doc, 'on')).toMatchObject({ comment: 'trigger' })
  })

  it('allows one leading document marker', () => {
    expect(toValue(parseYaml('---\na: 1\n'))).toEqual({ a: '1' })
  })

  it('reads scalars as the text they were written as', () => {
    expect(toValue(parseYaml('a: false\nb: 1\nc: 0x10\nd: ~'))).toEqual({ a: 'false', b: '1', c: '16', d: null })
  })

  it.each([
    ['several documents', 'a: 1\n---\nb: 2', 2],
    ['a duplicate key', 'a: 1\na: 2', 2],
    ['a tab', 'a:\n\tb: 1', 2],
    ['bad indentation', 'a: 1\n  b: 2', 1],
    ['an unterminated quote', "a: 'x", 1]
  ])('refuses %s with its line', (_what, source, line) => {
    expect(() => parseYaml(source)).toThrow(new RegExp(`^line ${line}: `))
  })
})
