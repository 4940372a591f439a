/**
 * Entry point for both steps. early.ts comes first: evaluating it starts the host probes (on Linux
 * only: elsewhere nothing starts, and main fails at once). The rest of the action, the toolkit and
 * every stage (step.ts), is a chunk of its own that Node compiles and evaluates while the probes run
 * on another core, rather than before they start.
 */
import './early.js'
import { printable } from './printable.js'

/** An error the toolkit cannot report (it did not load, or the step failed before it could), as the runner reads one. */
function fail(message: (why: string) => string, err: unknown): void {
  // printable leaves no line break; a `%` would start an escape of the runner's own
  const why = printable(String((err as Error)?.message ?? err)).replace(/%/g, '%25')
  process.stdout.write(`::error::${message(why)}\n`)
  process.exitCode = 1
}

import('./step.js').then(
  m => {
    try {
      m.step()
    } catch (err) {
      fail(why => `this action failed as it started (${why})`, err)
    }
  },
  (err: unknown) => fail(why => `this action's bundle could not be loaded (${why}): use a released version`, err)
)
