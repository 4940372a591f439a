/**
 * The host's binfmt_misc table as this process sees it. Toolkit-free: the early start reads it
 * before the toolkit has loaded.
 */
import * as fs from 'node:fs/promises'
import { readdirSync, readFileSync } from 'node:fs'
import * as path from 'node:path'
import { parseEntry, type Entry } from './entry.js'

export const BINFMT_MISC = '/proc/sys/fs/binfmt_misc'

export const exists = (p: string): Promise<boolean> =>
  fs.access(p).then(
    () => true,
    () => false
  )

const isEntry = (name: string): boolean => name !== 'register' && name !== 'status'

export async function readEntries(dir = BINFMT_MISC): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>()
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return entries
  }
  await Promise.all(
    names.filter(isEntry).map(async n => {
      try {
        entries.set(n, parseEntry(n, await fs.readFile(path.join(dir, n), 'utf8')))
      } catch {
        // removed while we read: not there
      }
    })
  )
  return entries
}

/** binfmt_misc can be switched off as a whole (`echo 0 > status`); then no entry works. */
export async function globallyEnabled(dir = BINFMT_MISC): Promise<boolean> {
  try {
    return (await fs.readFile(path.join(dir, 'status'), 'utf8')).trim() === 'enabled'
  } catch {
    return false
  }
}

/** The same, synchronously: for the early start, just before it starts the probes. */
export function readEntriesSync(dir = BINFMT_MISC): Map<string, Entry> {
  const entries = new Map<string, Entry>()
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return entries
  }
  for (const n of names.filter(isEntry)) {
    try {
      entries.set(n, parseEntry(n, readFileSync(path.join(dir, n), 'utf8')))
    } catch {
      // removed while we read: not there
    }
  }
  return entries
}

/** One string that changes whenever any entry does: to tell whether the table changed meanwhile. */
export const fingerprint = (entries: ReadonlyMap<string, Entry>): string =>
  JSON.stringify([...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))

/** The running kernel's boot id: the same on two sides means the same kernel, and so the same table. '' where it cannot be read. */
export const bootId = (): Promise<string> =>
  fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    t => t.trim(),
    () => ''
  )
