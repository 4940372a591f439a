/**
 * The private binfmt_misc instance of this test run's user namespace (Linux 6.7 and later): every
 * registration the user-namespace tests make goes there, and nothing outside it changes.
 */
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { BINFMT_MISC } from '../../src/binfmt/table.js'

function insidePrivateUserNamespace(): boolean {
  // the initial namespace maps all ids: "0 0 4294967295"
  const map = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/)
  return !(map[0] === '0' && map[1] === '0' && map[2] === '4294967295')
}

/** Whether the instance mounted here is this namespace's own: only its own takes a registration. */
function ownInstance(): boolean {
  try {
    fs.writeFileSync(path.join(BINFMT_MISC, 'register'), ':setup-qemu-test-owner:E::setup-qemu-test::/nonexistent:')
    fs.writeFileSync(path.join(BINFMT_MISC, 'setup-qemu-test-owner'), '-1')
    return true
  } catch {
    return false
  }
}

/** Mounts this namespace's own instance (once for all test files) and empties it. */
export function privateInstance(): void {
  if (!insidePrivateUserNamespace()) {
    throw new Error(
      'refusing to run: these tests register entries and must run in a private user namespace (npm run test:userns)'
    )
  }
  if (!ownInstance()) execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_MISC])
  clearInstance()
}

export function clearInstance(): void {
  for (const n of fs.readdirSync(BINFMT_MISC))
    if (n !== 'register' && n !== 'status') fs.writeFileSync(path.join(BINFMT_MISC, n), '-1')
}
