/**
 * Stage 4: changing binfmt_misc. A registrar is one way of writing to the kernel's table (a helper
 * container, or this runner itself); each is one file implementing `write`, chosen in src/factory.ts.
 * The native-format guard lives here, in front of every registrar, so no input and no registrar can get
 * around it.
 */
import type { Change, ChangeResult, Mount } from '../binfmt/change.js'
import { entryClaims, type Entry } from '../binfmt/entry.js'
import type { EngineView } from '../host/engine-view.js'
import type { Platform } from '../platform/platforms.js'
import { elfShapes } from '../platform/elf.js'

export { otherKernel } from '../binfmt/change.js'
export type { Change, ChangeResult, Mount } from '../binfmt/change.js'

export class NativeFormatError extends Error {}

/** The magic and mask of an `M` registration line, decoded from its `\xNN` text. */
export function decodeLine(line: string): Entry | undefined {
  const [, name, type, offset, magic, mask, interpreter, flags] = line.split(':')
  if (type !== 'M') return undefined
  const hex = (s: string): string =>
    Buffer.from(
      s.replace(/\\x([0-9a-fA-F]{2})|([\s\S])/g, (_, h: string, c: string) => h ?? c.charCodeAt(0).toString(16).padStart(2, '0')),
      'hex'
    ).toString('hex')
  return { name, enabled: true, interpreter, flags, offset: Number(offset || 0), magic: hex(magic), mask: hex(mask) }
}

/**
 * Refuses any registration that could claim binaries of a platform the host may run natively. It
 * tests every shape such a program's header can have; magic bytes past those 20 count as matching,
 * since some native file will match them.
 */
export function guardNative(changes: readonly Change[], protectedPlatforms: readonly Platform[]): void {
  for (const c of changes) {
    if (c.op !== 'add') continue
    const [, , type] = c.line.split(':')
    if (type === 'E') continue // an extension entry matches file names, not headers
    const entry = decodeLine(c.line)
    const hijacked = protectedPlatforms.find(p => !entry || elfShapes(p).some(shape => entryClaims(entry, i => shape[i])))
    if (hijacked) {
      throw new NativeFormatError(
        `refusing to register ${c.name}: it could claim ${hijacked.platforms[0]} binaries, which this host may run ` +
          "natively, and send the machine's own programs through an emulator"
      )
    }
  }
}

export abstract class Registrar {
  /** its line in REGISTRARS (src/factory.ts), which post makes it again by */
  abstract readonly kind: string

  /** how it writes, for the log and summary */
  abstract readonly method: string

  /** The engine's own view of the table, for a registrar that writes through an engine. */
  get view(): EngineView | undefined {
    return undefined
  }

  /** The kernel (boot id) whose table this registrar changes: it refuses to write to another's. */
  abstract expectKernel(bootId: string): void

  /** The directory the kernel is told to open emulators from. */
  abstract interpreterDir(key: string, hostDir: string): string

  /**
   * Gets ready to write (say, pulls an image); runs while the emulators are being fetched. The key of
   * those emulators, when known before they arrive, lets it get further.
   */
  async prepare(_key?: string): Promise<unknown> {
    return undefined
  }

  /**
   * Nothing (more) is to be written: lets go of what prepare started. A step that fails before it gets
   * here leaves that to the end of the process, which ends every command it started and removes the
   * containers they created.
   */
  async release(): Promise<void> {
    return undefined
  }

  /**
   * Applies the changes in order, guarded. A registrar reports every change it made before any
   * failure, so the caller knows exactly what happened.
   */
  async apply(
    changes: readonly Change[],
    protectedPlatforms: readonly Platform[],
    mounts: readonly Mount[] = []
  ): Promise<ChangeResult[]> {
    guardNative(changes, protectedPlatforms)
    return changes.length === 0 ? [] : this.write(changes, mounts)
  }

  protected abstract write(changes: readonly Change[], mounts: readonly Mount[]): Promise<ChangeResult[]>
}
