/**
 * A cancelled step must not leave containers behind: every container this run created carries its
 * label, so they can be found and removed even when the command that created them was killed.
 */
import { spawnSync } from 'node:child_process'
import { CONTAINER_LABEL, RUN_ID } from '../constants.js'

/** Removes the containers of a run (this one's unless told), with their anonymous volumes; how many there were. */
export function removeOwnContainers(bin = 'docker', run = RUN_ID): number {
  const ps = spawnSync(bin, ['ps', '--all', '--quiet', '--filter', `label=${CONTAINER_LABEL}=${run}`], {
    encoding: 'utf8',
    timeout: 10_000
  })
  const ids = (ps.stdout ?? '').split('\n').filter(id => /^[0-9a-f]{6,64}$/.test(id))
  if (ids.length > 0) spawnSync(bin, ['rm', '--force', '--volumes', ...ids], { timeout: 30_000 })
  return ids.length
}
