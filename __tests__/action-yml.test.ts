import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { DEFAULT_HELPER_IMAGE, DEFAULT_IMAGE, Input, Output } from '../src/constants.js'

const yml = readFileSync(new URL('../action.yml', import.meta.url), 'utf8')
const section = (name: string): string =>
  yml.slice(yml.indexOf(`\n${name}:\n`), yml.indexOf('\n\n', yml.indexOf(`\n${name}:\n`) + 2))
const keys = (text: string): string[] => [...text.matchAll(/^ {2}([a-z0-9-]+):$/gm)].map(m => m[1])
const defaultOf = (name: string): string | undefined =>
  new RegExp(`^ {2}${name}:\\n(?: {4}.*\\n)*? {4}default: '([^']*)'`, 'm').exec(section('inputs') + '\n')?.[1]

describe('action.yml agrees with the code', () => {
  it('declares exactly the inputs and outputs the code reads and sets', () => {
    expect(keys(section('inputs')).sort()).toEqual(Object.values(Input).sort())
    expect(keys(section('outputs')).sort()).toEqual(Object.values(Output).sort())
  })

  it('gives every input a default, the pinned ones among them', () => {
    for (const name of Object.values(Input))
      expect({ name, default: defaultOf(name) }).toEqual({ name, default: expect.any(String) })
    expect(defaultOf(Input.Image)).toBe(DEFAULT_IMAGE)
    expect(defaultOf(Input.HelperImage)).toBe(DEFAULT_HELPER_IMAGE)
    expect(defaultOf(Input.Platforms)).toBe('all')
    expect(defaultOf(Input.Reset)).toBe('false')
    expect(defaultOf(Input.CacheImage)).toBe('true')
  })

  it('runs the bundle on node24 for main and post', () => {
    expect(yml).toMatch(/using: 'node24'\n {2}main: 'dist\/index.js'\n {2}post: 'dist\/index.js'/)
  })
})
