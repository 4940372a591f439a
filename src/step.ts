/**
 * Main or post, as the runner asked: main the first time, post when main has marked the state. Loaded
 * by the entry point (index.ts) once early.ts has started the host probes.
 */
import { isPostStep, probesInFlight } from './early.js'
import * as core from '@actions/core'
import { ended, killAll } from './exec/command.js'
import { localEngine } from './factory.js'
import { isLinux, notLinux, runnerOs } from './linux.js'
import * as log from './log.js'
import { run } from './main.js'
import { post } from './post/post.js'
import { markMainEnded, markMainRan } from './state.js'

function start(): void {
  // a cancelled job: end every command and container this step started rather than leave them running
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killAll()
      localEngine().removeOwnContainers()
      process.exit(1)
    })
  }

  const isPost = isPostStep()
  void (isPost ? post() : run(probesInFlight))
    .catch((err: Error) => core.setFailed(log.printable(err.message)))
    // a helper container whose work is done is still being removed: wait for that. What still runs then
    // (a helper started early for a step that failed) is ended, and a container its CLI created but never
    // started, which --rm does not remove, goes too.
    .finally(async () => {
      await ended()
      if (killAll() > 0) localEngine().removeOwnContainers()
      // main succeeded: it left nothing for post to sweep. A main that failed may have lost its engine
      // part-way (a container created and never started, which nothing here could remove): post looks.
      if (!isPost && process.exitCode !== core.ExitCode.Failure) markMainEnded()
      process.exit()
    })
}

/**
 * Not Linux: main fails with the one error that says what to do, and marks the state so that post
 * knows it is post. Post then only says why it has nothing to do: a second failure for the same cause
 * would add nothing but noise.
 */
function refuse(): void {
  if (isPostStep()) {
    log.info(`nothing to clean up or save: the main step did not run on this ${runnerOs()} runner`)
    return
  }
  core.setFailed(notLinux())
  try {
    markMainRan()
    // nothing was started: nothing for post to sweep
    markMainEnded()
  } catch {
    // no state file to write to: post then fails with the same message, which is still the right one
  }
}

/** Runs the step this process is. */
export function step(): void {
  if (isLinux()) start()
  else refuse()
}
