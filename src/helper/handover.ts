/**
 * What the helper container is shown of a directory of emulators, bound or sent on its stdin: a new
 * directory holding links to the files acquire checked, and nothing else. Whatever else the directory
 * holds (a restored cache entry's metadata, files nobody checked) never reaches the helper.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { linkOrCopy } from '../fs.js'
import type { Mount } from '../binfmt/change.js'
import { filesOf, tarOf, type TarFile } from '../exec/tar.js'
import { EMULATOR_NAMES } from '../platform/platforms.js'

/** Far more than any QEMU user-mode emulator (~10 MB); a file sent on stdin is held in memory whole. */
export const MAX_EMULATOR_BYTES = 64 * 2 ** 20

/** Links the named emulators of dir into `into`, each a regular file within the size limit; throws, saying why, otherwise. */
async function linkChecked(dir: string, names: readonly string[], into: string): Promise<void> {
  for (const name of names) {
    if (!EMULATOR_NAMES.includes(name)) throw new Error(`${name} is not the name of an emulator: not shown to the helper`)
    const file = path.join(dir, name)
    const st = await fs.lstat(file)
    if (!st.isFile()) throw new Error(`${file} is not a regular file: not shown to the helper`)
    if (st.size > MAX_EMULATOR_BYTES) {
      throw new Error(
        `${file} is ${st.size} bytes, more than an emulator can be (at most ${MAX_EMULATOR_BYTES / 2 ** 20} MiB): not shown to the helper`
      )
    }
    await linkOrCopy(file, path.join(into, name))
  }
}

/**
 * The mounts as the helper gets them: a directory is replaced by a new one in workDir holding only its
 * `files`; a single file, or a path this runner does not have, is left as it is.
 */
export async function shownToHelper(mounts: readonly Mount[], workDir: string): Promise<Mount[]> {
  return Promise.all(
    mounts.map(async m => {
      const st = await fs.lstat(m.host).catch(() => undefined)
      if (!st?.isDirectory()) return m
      const shown = await fs.mkdtemp(path.join(workDir, 'shown-'))
      await linkChecked(m.host, m.files ?? [], shown)
      return { host: shown, target: m.target, ...(m.send ? { send: true } : {}) }
    })
  )
}

/**
 * The files the mounts marked `send` hand over (a directory's files, or one file), as one tar stream;
 * undefined when there are none. A file this runner does not have is left out: its write then fails
 * and says so, as a bind mount of it could not have helped either.
 */
export async function streamOf(mounts: readonly Mount[]): Promise<Buffer | undefined> {
  const files: TarFile[] = []
  for (const m of mounts.filter(x => x.send)) {
    const st = await fs.lstat(m.host).catch(() => undefined)
    if (st?.isDirectory()) files.push(...(await filesOf(m.host, m.target)))
    else if (st?.isFile()) files.push({ name: m.target.replace(/^\/+/, ''), data: await fs.readFile(m.host), mode: st.mode })
  }
  return files.length ? tarOf(files) : undefined
}
