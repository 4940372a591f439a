/** A stand-in of a run's Actions cache for the sources' unit tests, shared by them. */
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { ActionsCache, Restored } from '../../src/acquire/actions-cache/restore.js'

/** What a restore into dir gives: each file there with the SHA-256 of its bytes, as the restore hashes them. */
export function restoredFrom(dir: string): Restored {
  const sha256 = new Map<string, string>()
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, name)
    if (fs.statSync(file).isFile())
      sha256.set(name.split(path.sep).join('/'), createHash('sha256').update(fs.readFileSync(file)).digest('hex'))
  }
  return { dir, sha256 }
}

/**
 * Restores `restored` (none: a miss), records what the source refuses and keeps, and gives a miss a keep
 * directory made by `keepDir`.
 */
export function actionsCacheStandIn(
  keepDir: () => string,
  restored?: string
): { cache: ActionsCache; refused: string[]; kept: string[] } {
  const refused: string[] = []
  const kept: string[] = []
  const cache = {
    restore: async () => (restored ? restoredFrom(restored) : undefined),
    refuse: (problem: string) => void refused.push(problem),
    keepDir: async () => (restored ? undefined : keepDir()),
    keep: (dir: string) => void kept.push(dir)
  } as unknown as ActionsCache
  return { cache, refused, kept }
}
