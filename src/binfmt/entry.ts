/**
 * The binfmt_misc kernel interface as data: registration lines we write and entry files we read.
 * Pure functions only; the host and helper modules do the I/O.
 */
import { entryName, type Platform } from '../platform/platforms.js'
import { elfIdent, probeHeader } from '../platform/elf.js'

/** What the kernel shows in /proc/sys/fs/binfmt_misc/<name>. */
export interface Entry {
  name: string
  enabled: boolean
  interpreter: string
  flags: string
  offset: number
  /** hex, as the kernel prints it; absent for extension (E) entries */
  magic?: string
  mask?: string
  extension?: string
}

/** The flags this action registers with: F so containers can use the emulator after the helper exits. */
export const FLAGS = 'POCF'

const MAX_LINE = 1920
export const MAX_INTERPRETER = 127

export function defaultMask(p: Platform): Buffer {
  const mask = Buffer.alloc(20, 0xff)
  mask[7] = 0x00 // OS ABI
  mask[p.elf.endian === 'le' ? 16 : 17] = 0xfe // e_type: EXEC or DYN
  for (const [offset, value] of Object.entries(p.maskOverrides ?? {})) mask[Number(offset)] = value
  return mask
}

export const magicOf = (p: Platform): Buffer => elfIdent(p)

/** Bytes as the `\xNN` text the kernel decodes: never raw bytes, so NUL and `:` cannot end a field. */
const escape = (b: Buffer): string => [...b].map(x => `\\x${x.toString(16).padStart(2, '0')}`).join('')

export function registrationLine(p: Platform, interpreter: string, flags = FLAGS): string {
  if (interpreter.length > MAX_INTERPRETER) throw new Error(`interpreter path too long: ${interpreter}`)
  if (/[:\s\\]/.test(interpreter)) throw new Error(`interpreter path must not contain ':', '\\' or spaces: ${interpreter}`)
  if (!/^[POCF]*$/.test(flags)) throw new Error(`unknown binfmt_misc flags: ${flags}`)
  const line = `:${entryName(p)}:M::${escape(magicOf(p))}:${escape(defaultMask(p))}:${interpreter}:${flags}`
  if (line.length > MAX_LINE) throw new Error(`registration line too long (${line.length} bytes)`)
  return line
}

/**
 * The line that would register an entry again as the kernel shows it now (for restoring it), or
 * undefined when the kernel could not take it back: a magic so long that its escaped line is too long.
 */
export function lineForEntry(e: Entry): string | undefined {
  const hexEscape = (hex: string): string => hex.replace(/(..)/g, '\\x$1')
  // the kernel shows an extension with its dot and adds one when registering
  const type =
    e.extension !== undefined
      ? `E::${e.extension.replace(/^\./, '')}:`
      : `M:${e.offset || ''}:${hexEscape(e.magic ?? '')}:${hexEscape(e.mask ?? '')}`
  const line = `:${e.name}:${type}:${e.interpreter}:${e.flags}`
  return line.length <= MAX_LINE ? line : undefined
}

/**
 * Names this action will touch or print as they are. The kernel accepts almost anything (a carriage
 * return, a colon); an entry with another name is never changed, and only shown escaped. The table's
 * own files and the directory's dot names are never an entry's: writing `-1` to `status` would remove
 * every entry.
 */
export const isPlainName = (name: string): boolean =>
  /^[A-Za-z0-9._+-]{1,64}$/.test(name) && !['.', '..', 'register', 'status'].includes(name)

export function parseEntry(name: string, text: string): Entry {
  const e: Entry = { name, enabled: false, interpreter: '', flags: '', offset: 0 }
  for (const line of text.split('\n')) {
    const [key, ...rest] = line.trim().split(' ')
    const value = rest.join(' ')
    if (key === 'enabled') e.enabled = true
    else if (key === 'interpreter') e.interpreter = value
    else if (key === 'flags:') e.flags = value
    else if (key === 'offset') e.offset = Number(value)
    else if (key === 'magic') e.magic = value
    else if (key === 'mask') e.mask = value
    else if (key === 'extension') e.extension = value
  }
  return e
}

/**
 * Does this entry claim a file that starts with these bytes? The kernel's own test, on the first
 * bytes of the file as it reads them: (header XOR magic) AND mask is zero at every byte of the magic.
 */
export function entryMatches(e: Entry, header: Buffer): boolean {
  return entryClaims(e, i => header[i] ?? 0)
}

/**
 * Could this entry claim some file whose first bytes agree with `known` where it is defined? A byte
 * that `known` leaves undefined counts as matching, so an entry whose magic reaches past what is
 * known is taken to claim such files: the native-format guard errs on the side of refusing.
 */
export function entryClaims(e: Entry, known: (offset: number) => number | undefined): boolean {
  if (e.magic === undefined) return false
  const magic = Buffer.from(e.magic, 'hex')
  const mask = e.mask ? Buffer.from(e.mask, 'hex') : Buffer.alloc(magic.length, 0xff)
  for (let i = 0; i < magic.length; i++) {
    const b = known(e.offset + i)
    if (b !== undefined && ((b ^ magic[i]) & mask[i]) !== 0) return false
  }
  return true
}

/** The same registration as ours would be: same magic, mask, interpreter and flags. */
export function sameAs(e: Entry, p: Platform, interpreter: string): boolean {
  return (
    e.enabled &&
    e.interpreter === interpreter &&
    sortFlags(e.flags) === sortFlags(FLAGS) &&
    e.magic === magicOf(p).toString('hex') &&
    e.mask === defaultMask(p).toString('hex')
  )
}

const sortFlags = (f: string): string => [...f].sort().join('')

/** The enabled entries that would claim this platform's binaries, tested on the probe as the kernel reads it. */
export function handlersOf(p: Platform, entries: ReadonlyMap<string, Entry>): Entry[] {
  const header = probeHeader(p)
  return [...entries.values()].filter(e => e.enabled && entryMatches(e, header))
}
