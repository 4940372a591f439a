/** SHA-256 of a file: emulators are megabytes each. */
import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'

const CHUNK = 1 << 20

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  const fh = await fs.open(file, 'r')
  try {
    // one buffer read into again and again: a stream's new buffer for every chunk costs more than the hashing
    const buf = Buffer.allocUnsafe(CHUNK)
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null)
      if (bytesRead === 0) break
      hash.update(buf.subarray(0, bytesRead))
    }
  } finally {
    await fh.close()
  }
  return hash.digest('hex')
}
