/** SHA-256 of a file, streamed: emulators are megabytes each. */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  // large reads: with the default 64 KiB the per-chunk overhead costs more than the hashing
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
