/**
 * The private binfmt_misc instance of this test run's user namespace (Linux 6.7 and later): every
 * registration the user-namespace tests make goes there, and nothing outside it changes.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { BINFMT_MISC } from '../../src/binfmt/table.js'

function insidePrivateUserNamespace(): boolean {
  // the initial namespace maps all ids: "0 0 4294967295"
  const map = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/)
  return !(map[0] === '0' && map[1] === '0' && map[2] === '4294967295')
}

/**
 * Mounts this namespace's own instance and empties it. It always mounts: a mount inherited from the host
 * is the host's instance, and root mapped to root can write to it from here (its files are root's), so a
 * write that succeeds proves nothing. The kernel refuses (EBUSY, "already mounted") only to mount a
 * superblock over itself: then this namespace's own instance is the one mounted there (an earlier test file).
 */
export function privateInstance(): void {
  if (!insidePrivateUserNamespace()) {
    throw new Error(
      'refusing to run: these tests register entries and must run in a private user namespace (npm run test:userns)'
    )
  }
  const r = spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_MISC], { encoding: 'utf8' })
  if (r.status !== 0 && !/already mounted/.test(r.stderr)) throw new Error(`cannot mount a private binfmt_misc: ${r.stderr}`)
  clearInstance()
}

export function clearInstance(): void {
  for (const n of fs.readdirSync(BINFMT_MISC))
    if (n !== 'register' && n !== 'status') fs.writeFileSync(path.join(BINFMT_MISC, n), '-1')
}
