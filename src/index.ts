/**
 * Entry point for both steps: main the first time, post when main has marked the state.
 * early.ts comes first: importing it starts the host probes before the toolkit is evaluated.
 */
import { early, isPostStep } from './early.js'
import * as core from '@actions/core'
import { run } from './main.js'
import { post } from './post/cleanup.js'

void (isPostStep() ? post() : run(early))
  .catch((err: Error) => core.setFailed(err.message))
  // exit explicitly: a download or engine call given up on after its time limit must not hold the step open
  .finally(() => process.exit())
