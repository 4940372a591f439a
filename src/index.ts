/** Entry point for both steps: main the first time, post when main has marked the state. */
import * as core from '@actions/core'
import { run } from './main.js'
import { post } from './post/cleanup.js'
import { isPost } from './state.js'

void (isPost() ? post() : run())
  .catch((err: Error) => core.setFailed(err.message))
  // exit explicitly: a download or engine call given up on after its time limit must not hold the step open
  .finally(() => process.exit())
