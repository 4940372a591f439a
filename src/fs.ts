/** File helpers that no stage owns: the tool cache, the handover and the helper container all use them. */
import * as fs from 'node:fs/promises'

/** The code of a failed file operation (ENOENT, EXDEV, …), if it has one. */
export const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code

/** A private link to src at dst, or a copy where links cannot be made. */
export async function linkOrCopy(src: string, dst: string): Promise<void> {
  try {
    await fs.link(src, dst)
  } catch (err) {
    if (errno(err) === 'ENOENT') throw err
    // another filesystem (EXDEV), or links refused (protected_hardlinks): a copy is just as private
    await fs.copyFile(src, dst)
    await fs.chmod(dst, 0o755)
  }
}
