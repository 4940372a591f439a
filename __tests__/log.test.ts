import { describe, expect, it } from '@jest/globals'
import * as log from '../src/log.js'
import { printedNow } from './helpers/output.js'

describe('text from outside is data in the log', () => {
  const name = 'qemu-x\r::save-state name=cleanup::{"privilege":"true"}\r'

  it('cannot start a line, so it cannot be a workflow command', () => {
    const lines = printedNow(() => log.info(`binfmt_misc entries now: ${name}`))
      .split(/\r\n|\r|\n/)
      .filter(Boolean)
    expect(lines).toEqual(['binfmt_misc entries now: qemu-x\\x0d::save-state name=cleanup::{"privilege":"true"}\\x0d'])
  })

  it.each([
    ['a\nb', 'a\\x0ab'],
    ['a\u0000b\u001b[31m', 'a\\x00b\\x1b[31m'],
    ['a\u0085b\u2028c', 'a\\x85b\\u2028c'],
    ['plain /usr/bin/qemu-aarch64 ✅', 'plain /usr/bin/qemu-aarch64 ✅']
  ])('%j', (text, shown) => expect(log.printable(text)).toBe(shown))

  it('is never markup in the job summary', () => {
    expect(log.html('<img src=x onerror=alert(1)> & "q"')).toBe('&#60;img src=x onerror=alert(1)&#62; &#38; &#34;q&#34;')
  })
})
