/**
 * What the step prints, captured for the tests and kept out of their output: stdout, where @actions/core
 * writes the log and its workflow commands.
 */
import { afterEach, beforeEach, jest } from '@jest/globals'

/** The text printed since the current test began; a test may add its own lines (a client's log) to it. */
export interface Printed {
  text: string
  /** that text, line by line */
  lines(): string[]
}

/** Captures stdout for every test of the file (or describe) it is called in, afresh for each. */
export function captureOutput(): Printed {
  const printed: Printed = { text: '', lines: () => printed.text.split('\n') }
  beforeEach(() => {
    printed.text = ''
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.text += chunk.toString()
      return true
    })
  })
  afterEach(() => {
    jest.restoreAllMocks()
  })
  return printed
}

/** What `work` printed while it ran. */
export async function printedBy(work: () => unknown): Promise<string> {
  const out: string[] = []
  const write = jest.spyOn(process.stdout, 'write').mockImplementation(chunk => (out.push(String(chunk)), true))
  try {
    await work()
  } finally {
    write.mockRestore()
  }
  return out.join('')
}

/** What `work` printed while it ran, for work that does not wait. */
export function printedNow(work: () => void): string {
  const out: string[] = []
  const write = jest.spyOn(process.stdout, 'write').mockImplementation(chunk => (out.push(String(chunk)), true))
  try {
    work()
  } finally {
    write.mockRestore()
  }
  return out.join('')
}
