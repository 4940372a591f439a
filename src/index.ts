/** Entry point for both steps: main the first time, post when main has marked the state. */
import { run } from './main.js'
import { post } from './post/cleanup.js'
import { isPost } from './state.js'

// Exit explicitly: a download or engine call given up on after its time limit must not hold the step open.
void (isPost() ? post() : run()).finally(() => process.exit())
