/**
 * Stage 4: changing binfmt_misc. A registrar is one way of writing to the kernel's table (a helper
 * container, or this process directly); each is one file implementing `write`. The native-format guard
 * lives here, in front of every registrar, so no input and no registrar can get around it.
 */
import { entryMatches, type Entry } from '../binfmt/entry.js'
import type { Platform } from '../platforms.js'
import { elfIdent } from '../probe/elf.js'

export type Change =
  | { op: 'remove'; name: string }
  | { op: 'add'; name: string; line: string }
  /** switch an entry off, as one that is put back was */
  | { op: 'disable'; name: string }

export interface ChangeResult {
  change: Change
  /** done, or (add) an entry of that name was already there, or (remove) there was none */
  status: 'ok' | 'exists' | 'gone' | 'failed'
  error?: string
}

/** A host file or directory the registrar must show at another path (where the kernel opens emulators). */
export interface Mount {
  host: string
  target: string
}

export class NativeFormatError extends Error {}

/** The magic and mask of an `M` registration line, decoded from its `\xNN` text. */
export function decodeLine(line: string): Entry | undefined {
  const [, name, type, offset, magic, mask, interpreter, flags] = line.split(':')
  if (type !== 'M') return undefined
  const hex = (s: string): string =>
    Buffer.from(s.replace(/\\x([0-9a-fA-F]{2})|([\s\S])/g, (_, h: string, c: string) => h ?? c.charCodeAt(0).toString(16).padStart(2, '0')), 'hex').toString('hex')
  return { name, enabled: true, interpreter, flags, offset: Number(offset || 0), magic: hex(magic), mask: hex(mask) }
}

/** Refuses any registration that would claim binaries of a platform the host runs natively. */
export function guardNative(changes: readonly Change[], native: readonly Platform[]): void {
  for (const c of changes) {
    if (c.op !== 'add') continue
    const entry = decodeLine(c.line)
    if (!entry) continue // an extension entry matches file names, not ELF headers
    const hijacked = native.find(p => entryMatches(entry, elfIdent(p)))
    if (hijacked) {
      throw new NativeFormatError(
        `refusing to register ${c.name}: it would claim ${hijacked.platforms[0]} binaries, which this host runs ` +
          'natively, and hijack every program on the machine'
      )
    }
  }
}

export abstract class Registrar {
  /** how it writes, for the log and summary */
  abstract readonly method: string

  /** The directory the kernel is told to open emulators from. */
  abstract interpreterDir(key: string, hostDir: string): string

  /** Gets ready to write (say, pulls an image); may run while the emulators are being fetched. */
  async prepare(): Promise<unknown> {
    return undefined
  }

  async apply(changes: readonly Change[], native: readonly Platform[], mounts: readonly Mount[] = []): Promise<ChangeResult[]> {
    guardNative(changes, native)
    return changes.length === 0 ? [] : this.write(changes, mounts)
  }

  protected abstract write(changes: readonly Change[], mounts: readonly Mount[]): Promise<ChangeResult[]>
}
