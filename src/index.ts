/**
 * Entry point for both steps. early.ts comes first: evaluating it starts the host probes (on Linux
 * only: elsewhere nothing starts, and main fails at once). The rest of the action, the toolkit and
 * every stage (step.ts), is a chunk of its own that Node compiles and evaluates while the probes run
 * on another core, rather than before they start.
 */
import './early.js'
import { printable } from './printable.js'

import('./step.js').then(
  m => m.step(),
  (err: Error) => {
    // the bundle is incomplete: the toolkit that would report it is what did not load
    // printable leaves no line break; a `%` would start an escape of the runner's own
    const why = printable(String(err?.message ?? err)).replace(/%/g, '%25')
    process.stdout.write(`::error::this action's bundle could not be loaded (${why}): use a released version\n`)
    process.exitCode = 1
  }
)
