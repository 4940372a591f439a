import { describe, expect, it, jest } from '@jest/globals'
import { PermanentError, withRetries } from '../../src/exec/retry.js'

/** A clock that only moves when the code sleeps or an attempt takes time. */
function clock(): { now: () => number; sleep: (s: number) => Promise<void>; slept: number[]; pass: (s: number) => void } {
  let t = 0
  const slept: number[] = []
  return {
    now: () => t,
    sleep: async s => {
      slept.push(s)
      t += s * 1000
    },
    slept,
    pass: s => {
      t += s * 1000
    }
  }
}

describe('retrying within a time budget', () => {
  it('retries a transient failure with a doubling delay and returns the result', async () => {
    const c = clock()
    const attempt = jest.fn(async () => {
      if (attempt.mock.calls.length < 3) throw new Error('EOF')
      return 'done'
    })
    await expect(withRetries(attempt, { budget: 60, what: 'pulling x', ...c })).resolves.toBe('done')
    expect(attempt).toHaveBeenCalledTimes(3)
    expect(c.slept).toEqual([1, 2])
  })

  it('does not retry a permanent failure', async () => {
    const c = clock()
    const attempt = jest.fn(async () => {
      throw new PermanentError('not found')
    })
    await expect(withRetries(attempt, { budget: 60, what: 'pulling x', ...c })).rejects.toThrow('not found')
    expect(attempt).toHaveBeenCalledTimes(1)
  })

  it('gives each attempt what is left of the budget, and gives up when the next delay does not fit', async () => {
    const c = clock()
    const given: number[] = []
    const attempt = async (left: number): Promise<never> => {
      given.push(left)
      c.pass(4)
      throw new Error('503 Service Unavailable')
    }
    await expect(withRetries(attempt, { budget: 20, what: 'pulling x', ...c })).rejects.toThrow(
      /gave up after 3 attempts within the 20s timeout.*503/
    )
    expect(given).toEqual([20, 15, 9])
  })

  it('stops at the attempt limit', async () => {
    const c = clock()
    const attempt = jest.fn(async () => {
      throw new Error('EOF')
    })
    await expect(withRetries(attempt, { budget: 3600, what: 'pulling x', attempts: 4, ...c })).rejects.toThrow(/after 4 attempts/)
    expect(attempt).toHaveBeenCalledTimes(4)
  })

  it('says nothing about retries when the only attempt used the whole budget', async () => {
    const c = clock()
    const attempt = async (): Promise<never> => {
      c.pass(30)
      throw new Error('did not finish')
    }
    await expect(withRetries(attempt, { budget: 30, what: 'pulling x', ...c })).rejects.toThrow(/^did not finish$/)
  })
})
