/**
 * What main hands to post, through the action's state (GITHUB_STATE / STATE_*). Post trusts none of it
 * until it has checked every field: state can be forged by anything that writes to the runner's log.
 */
import * as core from '@actions/core'
import { RUN_ID, State } from './constants.js'
import type { Change } from './binfmt/change.js'
import { isPlainName, type Entry } from './binfmt/entry.js'
import { isEndpoint, type Endpoint } from './engine/endpoint.js'
import { PRIVILEGE_MODES, type PrivilegeMode } from './helper/args.js'
import type { Privilege } from './inputs/inputs.js'
import { PLATFORMS } from './platform/platforms.js'

export interface CleanupState {
  /** entry names this run adds, or may have added */
  added: string[]
  /** entries this run removes or replaces, or may have, as the kernel showed them, to put back */
  removed: Entry[]
  /** entries we add point here; post removes only entries that still do */
  interpreterDir: string
  /** arch ids the host runs, or may run, natively: restoring must not claim them either */
  native: string[]
  /** how main wrote the table: post writes it the same way */
  /** the registrar's kind, which post makes it again by (src/factory.ts checks it names one) */
  registrar: string
  /** the runner wrote through `sudo -n` */
  sudo?: true
  /** the boot id of the kernel whose table main changed: post changes no other */
  bootId?: string
  /** the engine main reached, as the CLI was pointed at it: post reaches the same one */
  endpoint?: Endpoint
  helperImage: string
  privilege: Privilege
  mode?: PrivilegeMode
  timeout: number
  /** main read and wrote the table through the engine: post does the same */
  engine?: boolean
}

/**
 * Main has started, as this run: a main step killed outright (SIGKILL, out of memory) cannot remove the
 * containers it created, and post finds them by this run's label.
 */
export function markMainRan(): void {
  core.saveState(State.IsPost, 'true')
  core.saveState(State.Run, RUN_ID)
}

/** Main has ended and removed what it started itself: post has nothing to sweep. */
export const markMainEnded = (): void => core.saveState(State.Run, '')

/** The run of a main step that did not end by itself, if any: only what RUN_ID can be is taken. */
export function leftRun(): string | undefined {
  const run = core.getState(State.Run)
  return /^[0-9]{1,10}-[0-9a-f]{6}$/.test(run) ? run : undefined
}

/** Saved before anything is written, and again once the writes are done: post can undo a partial run. */
export function saveCleanup(s: CleanupState): void {
  core.saveState(State.Cleanup, JSON.stringify(s))
}

/** The saved state, or undefined when main saved none. Throws, saying why, on a state that fails its checks. */
export function readCleanup(): CleanupState | undefined {
  const raw = core.getState(State.Cleanup)
  if (!raw) return undefined
  let s: unknown
  try {
    s = JSON.parse(raw)
  } catch {
    throw new Error('the saved cleanup state is not JSON')
  }
  return checkCleanup(s)
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const isText = (x: unknown, re: RegExp): x is string => typeof x === 'string' && re.test(x)
const HEX = /^(?:[0-9a-f]{2}){1,256}$/
const PATH = /^\/[^\u0000-\u001f\u007f:]{0,126}$/

function checkEntry(e: unknown): Entry {
  const ok =
    isObject(e) &&
    typeof e.name === 'string' &&
    isPlainName(e.name) &&
    typeof e.enabled === 'boolean' &&
    isText(e.interpreter, PATH) &&
    isText(e.flags, /^[POCF]{0,4}$/) &&
    Number.isInteger(e.offset) &&
    (e.offset as number) >= 0 &&
    (e.offset as number) < 256 &&
    (e.extension === undefined
      ? isText(e.magic, HEX) && isText(e.mask, HEX) && e.magic.length === e.mask.length
      : isText(e.extension, /^\.?[A-Za-z0-9_+-]{1,64}$/))
  if (!ok) throw new Error('the saved cleanup state holds an entry that is not well-formed')
  return e as unknown as Entry
}

/** Every field against what main could have saved. */
export function checkCleanup(s: unknown): CleanupState {
  if (!isObject(s)) throw new Error('the saved cleanup state is not an object')
  const names = s.added
  if (!Array.isArray(names) || !names.every(n => typeof n === 'string' && isPlainName(n))) {
    throw new Error('the saved cleanup state names entries that are not well-formed')
  }
  if (!Array.isArray(s.removed)) throw new Error('the saved cleanup state has no list of removed entries')
  const removed = s.removed.map(checkEntry)
  if (!isText(s.interpreterDir, PATH)) throw new Error('the saved cleanup state has a bad directory')
  if (!Array.isArray(s.native) || !s.native.every(a => PLATFORMS.some(p => p.arch === a))) {
    throw new Error('the saved cleanup state has unknown native platforms')
  }
  if (typeof s.helperImage !== 'string') throw new Error('the saved cleanup state names no helper image')
  if (!['auto', 'true', 'false'].includes(s.privilege as string)) throw new Error('the saved cleanup state has a bad privilege')
  if (s.mode !== undefined && !PRIVILEGE_MODES.includes(s.mode as PrivilegeMode))
    throw new Error('the saved cleanup state has a bad privilege mode')
  if (!Number.isInteger(s.timeout) || (s.timeout as number) < 1 || (s.timeout as number) > 99999) {
    throw new Error('the saved cleanup state has a bad time limit')
  }
  if (s.engine !== undefined && s.engine !== true) throw new Error('the saved cleanup state has a bad engine flag')
  if (typeof s.registrar !== 'string' || !/^[a-z][a-z-]{0,31}$/.test(s.registrar))
    throw new Error('the saved cleanup state names no registrar')
  if (s.sudo !== undefined && (s.sudo !== true || s.registrar !== 'runner')) {
    throw new Error('the saved cleanup state has a bad sudo flag')
  }
  if (s.bootId !== undefined && !isText(s.bootId, /^[0-9a-f-]{1,64}$/))
    throw new Error('the saved cleanup state has a bad boot id')
  if (s.endpoint !== undefined && (!isEndpoint(s.endpoint) || s.registrar !== 'container')) {
    throw new Error('the saved cleanup state has a bad engine endpoint')
  }
  return {
    added: names as string[],
    removed,
    interpreterDir: s.interpreterDir,
    native: s.native as string[],
    registrar: s.registrar,
    ...(s.sudo ? { sudo: true } : {}),
    ...(s.bootId !== undefined ? { bootId: s.bootId } : {}),
    ...(s.endpoint !== undefined ? { endpoint: s.endpoint } : {}),
    helperImage: s.helperImage,
    privilege: s.privilege as Privilege,
    mode: s.mode as PrivilegeMode | undefined,
    timeout: s.timeout as number,
    ...(s.engine ? { engine: true } : {})
  }
}

/** What a run is about to change, for post to undo: the names it adds, and the entries it removes as they are. */
export function plannedCleanup(
  changes: readonly Change[],
  before: ReadonlyMap<string, Entry>
): Pick<CleanupState, 'added' | 'removed'> {
  return {
    added: changes.filter(c => c.op === 'add').map(c => c.name),
    removed: changes.flatMap(c => (c.op === 'remove' ? (before.get(c.name) ?? []) : []))
  }
}

/** Main read and wrote the table through the engine. */
export const savedThroughEngine = (s: Pick<CleanupState, 'engine'>): boolean => s.engine === true
