/** A stand-in of a run's Actions cache for the sources' unit tests, shared by them. */
import type { ActionsCache } from '../../src/acquire/actions-cache/restore.js'

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
    restore: async () => restored,
    refuse: (problem: string) => void refused.push(problem),
    keepDir: async () => (restored ? undefined : keepDir()),
    keep: (dir: string) => void kept.push(dir)
  } as unknown as ActionsCache
  return { cache, refused, kept }
}
