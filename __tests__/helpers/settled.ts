/** Emulators as main has them once the tool cache's copy is written: acquire starts it, main waits for it. */
import type { Emulators } from '../../src/acquire/source.js'

/** The emulators acquired, once their copy is in the tool cache and its line is logged. */
export async function settled(acquiring: Promise<Emulators>): Promise<Emulators> {
  const e = await acquiring
  ;(await e.stored)?.()
  return e
}
