/**
 * Retrying network work that fails for a while and then works (a registry's EOF, 5xx or 429), inside
 * one time budget: the step's `timeout` bounds all the attempts together, not each one.
 */
import * as log from '../log.js'

/** A failure that another attempt cannot fix (authentication, a name that does not exist). */
export class PermanentError extends Error {}

export interface RetryOptions {
  /** seconds for every attempt together */
  budget: number
  /** what is being done, for the log: "pulling <ref>" */
  what: string
  attempts?: number
  /** seconds before the second attempt; doubled before each later one */
  firstDelay?: number
  sleep?: (seconds: number) => Promise<void>
  now?: () => number
}

const wait = (seconds: number): Promise<void> => new Promise(r => setTimeout(r, seconds * 1000))

/**
 * Runs attempt(secondsLeft) until it succeeds, throws a PermanentError, or the attempts or the budget
 * run out; the last error is thrown then, saying that it gave up.
 */
export async function withRetries<T>(attempt: (secondsLeft: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const { budget, what, attempts = 5, firstDelay = 1, sleep = wait, now = Date.now } = opts
  const deadline = now() + budget * 1000
  let delay = firstDelay
  for (let n = 1; ; n++) {
    const left = (deadline - now()) / 1000
    try {
      return await attempt(Math.max(1, Math.ceil(left)))
    } catch (err) {
      if (err instanceof PermanentError) throw err
      const message = (err as Error).message
      const after = (deadline - now()) / 1000
      // an attempt left with a second or two could not finish anyway
      if (n >= attempts || after - delay < 2) {
        throw new Error(n === 1 ? message : `gave up after ${n} attempts within the ${budget}s timeout. The last one: ${message}`)
      }
      log.info(
        `${message.startsWith(what) ? message : `${what}: ${message}`} Retrying in ${delay}s (attempt ${n + 1} of at most ${attempts}).`
      )
      await sleep(delay)
      delay *= 2
    }
  }
}
