#!/usr/bin/env node
/**
 * npm run demo: shows the action work on a fresh Debian machine, as root, with one command. It sets up
 * what it needs with the test environment's own script (an engine, a loopback registry, a binfmt-like
 * image built from Debian's QEMU, pinned by digest), runs the bundled action as the runner does for
 * linux/arm64 and linux/s390x, shows its outputs and job summary, runs a real Debian arm64 binary in a
 * container, runs the post step with cleanup, and leaves binfmt_misc and the services as it found them.
 * Where Docker Hub can be reached it uses the action's real default images instead, and says so.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { binfmtSnapshot, runAction } from './runner.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const E2E = process.env.E2E ?? '/tmp/setup-qemu-demo'
const BM = '/proc/sys/fs/binfmt_misc'
const PHASES = 7
let phase = 0

const say = text => console.log(`[${++phase}/${PHASES}] ${text}`)
const fail = text => {
  console.error(`demo failed: ${text}`)
  process.exit(1)
}
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', ...opts })

/** The job summary's HTML as plain text: one line per row, cells between bars. */
function summaryText(html) {
  const decode = s =>
    s
      .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&')
  return decode(
    html
      .replace(/<h3>(.*?)<\/h3>/g, '$1\n')
      .replace(/<tr>/g, '')
      .replace(/<\/tr>/g, ' |\n')
      .replace(/<t[hd]>/g, '| ')
      .replace(/<\/t[hd]>/g, ' ')
      .replace(/<li>/g, '- ')
      .replace(/<\/li>/g, '\n')
      .replace(/<[^>]+>/g, '')
  )
    .split('\n')
    .map(l => l.trimEnd())
    .filter(Boolean)
    .join('\n')
}

/** The pid files of the services setup.sh starts: the demo stops only those it started itself. */
const pidFiles = () => (fs.existsSync(E2E) ? fs.readdirSync(E2E).filter(f => f.endsWith('.pid')) : [])

if (process.getuid?.() !== 0) fail('run it as root on a Debian machine (it installs packages and registers on the host)')

const before = binfmtSnapshot(BM)
const wasMounted = fs.existsSync(path.join(BM, 'register'))
const pidsBefore = new Set(pidFiles())

say(
  `setting up an engine, a registry on 127.0.0.1 and a QEMU image from Debian (the first run installs packages: minutes; log in ${E2E}/demo-setup.log)`
)
fs.mkdirSync(E2E, { recursive: true })
const setup = run('bash', [path.join(ROOT, 'test/e2e/setup.sh')], {
  env: { ...process.env, E2E },
  stdio: ['ignore', 'pipe', 'pipe']
})
fs.writeFileSync(path.join(E2E, 'demo-setup.log'), `${setup.stdout}${setup.stderr}`)
if (setup.status !== 0) fail(`the setup did not finish:\n${`${setup.stdout}${setup.stderr}`.split('\n').slice(-15).join('\n')}`)
const env = Object.fromEntries(
  fs
    .readFileSync(path.join(E2E, 'env'), 'utf8')
    .split('\n')
    .map(l => /^export ([A-Z0-9_]+)=(.*)$/.exec(l))
    .filter(Boolean)
    .map(m => [m[1], m[2]])
)
const started = pidFiles().filter(f => !pidsBefore.has(f))

let inputs = { platforms: 'linux/arm64,linux/s390x', cleanup: 'true', image: env.BINFMT_IMAGE, 'helper-image': env.HELPER_IMAGE }
const hub = run('docker', ['manifest', 'inspect', 'docker.io/library/busybox:1.37.0'], { timeout: 15_000 })
if (hub.status === 0) {
  inputs = { platforms: inputs.platforms, cleanup: 'true' }
  console.log("      Docker Hub answers: using the action's default images (tonistiigi/binfmt and busybox, pinned by digest)")
} else {
  console.log(
    `      Docker Hub cannot be reached: using the image built here from Debian's qemu-user-static, ${env.BINFMT_IMAGE}`
  )
}

say('running the action (main step) as the runner does: platforms linux/arm64,linux/s390x, cleanup: true')
const dir = fs.mkdtempSync(path.join(E2E, 'demo-run-'))
const main = await runAction({ dir, inputs, post: false })
const shown = main.mainLog
  .split('\n')
  .filter(l => !l.startsWith('::debug::'))
  .join('\n')
console.log(shown.replace(/^/gm, '      '))
if (main.rc !== 0) fail(`the action's main step exited ${main.rc}`)

say('its outputs')
for (const [k, v] of Object.entries(main.outputs)) console.log(`      ${k}=${v}`)

say('its job summary, as text')
console.log(summaryText(main.summary).replace(/^/gm, '      '))

say('a real Debian arm64 binary (busybox-static:arm64) inside a container that has no emulator of its own')
const foreign = path.join(E2E, 'foreign', 'arm64', 'bin')
const helperImage = inputs['helper-image'] ?? env.HELPER_IMAGE
const container = run('docker', [
  'run',
  '--rm',
  '--network',
  'none',
  '-v',
  `${foreign}:/foreign:ro`,
  helperImage,
  '/foreign/busybox',
  'uname',
  '-m'
])
console.log(`      docker run ... /foreign/busybox uname -m  ->  ${container.stdout.trim() || container.stderr.trim()}`)
if (container.stdout.trim() !== 'aarch64') fail('the arm64 binary did not run in the container')

say('the post step, with cleanup: true')
const post = await runAction({ dir, inputs, post: 'only' })
console.log(
  post.postLog
    .split('\n')
    .filter(l => l && !l.startsWith('::debug::'))
    .join('\n')
    .replace(/^/gm, '      ')
)
if (post.postRc !== 0) fail(`the post step exited ${post.postRc}`)

say('leaving the machine as it was')
if (!wasMounted && fs.existsSync(path.join(BM, 'register'))) run('umount', [BM])
for (const f of started) {
  const pid = Number(fs.readFileSync(path.join(E2E, f), 'utf8'))
  try {
    process.kill(pid)
    // wait for it to go, as the machine is not as it was while it runs
    for (let i = 0; i < 60; i++) {
      process.kill(pid, 0)
      await new Promise(r => setTimeout(r, 500))
    }
  } catch {
    // gone
  }
  fs.rmSync(path.join(E2E, f), { force: true })
}
if (started.length) console.log(`      stopped what the demo started: ${started.map(f => f.replace(/\.pid$/, '')).join(', ')}`)
const after = binfmtSnapshot(BM)
console.log(
  after === before ? '      binfmt_misc is as it was before the demo' : '      binfmt_misc differs from before the demo'
)
if (after !== before) fail('binfmt_misc is not as it was')
